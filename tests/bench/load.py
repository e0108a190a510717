"""Driving load: wrk runs, the CPU time of a server's worker processes, pgbench, and servers as processes."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

LUA = Path(__file__).with_name("requests.lua")
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Server:
    """A uvicorn process tree (supervisor + workers) started with a command line, stopped with SIGTERM."""

    process: subprocess.Popen[bytes]
    base: str

    @classmethod
    def start(cls, argv: list[str], env: dict[str, str], base: str, log: Path) -> Server:
        with log.open("wb") as out:
            process = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        server = cls(process, base)
        server.wait_ready()
        return server

    def wait_ready(self, path: str = "/api/openapi.json", seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}")
            try:
                with urllib.request.urlopen(self.base + path, timeout=1):  # noqa: S310 (loopback URL we built)
                    if len(self.worker_pids()) >= 1:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("server did not become ready")

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        return [int(pid) for pid in children] or [self.process.pid]

    def cpu_seconds(self) -> float:
        """User + system CPU of the worker processes (all their threads), from /proc."""
        total = 0
        for pid in self.worker_pids():
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
        return total / TICKS

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def wrk(base: str, requests_file: Path, connections: int, seconds: int, threads: int = 2) -> dict[str, float]:
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s", "-s", str(LUA), base]
    out = subprocess.run([*argv, "--", str(requests_file), str(threads)], capture_output=True, text=True, check=True)
    line = next(x for x in out.stdout.splitlines() if x.startswith("BENCH_JSON "))
    result: dict[str, float] = json.loads(line.removeprefix("BENCH_JSON "))
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    return result


def measured_wrk(server: Server, requests_file: Path, connections: int, seconds: int) -> dict[str, float]:
    """A wrk run plus the app CPU it cost: worker CPU time / requests, in ms."""
    before = server.cpu_seconds()
    result = wrk(server.base, requests_file, connections, seconds)
    result["cpu_ms_per_request"] = (server.cpu_seconds() - before) * 1000 / max(result["requests"], 1)
    result["errors"] = sum(
        result[k] for k in ("status_errors", "connect_errors", "read_errors", "write_errors", "timeouts")
    )
    return result


def pgbench(database: str, script: Path, clients: int, seconds: int) -> float:
    argv = ["pgbench", "-h", "127.0.0.1", "-U", "postgres", "-n", f"-c{clients}", "-j2", f"-T{seconds}"]
    out = subprocess.run([*argv, "-f", str(script), database], capture_output=True, text=True, check=True)
    match = re.search(r"tps = ([0-9.]+)", out.stdout)
    if not match:
        raise RuntimeError(out.stdout + out.stderr)
    return float(match.group(1))
