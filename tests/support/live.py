"""Real uvicorn processes (`python -m handlers serve`) for the tests that need real sockets: faults,
concurrency, shutdown and workers. Each logs to a file the tests can read (and grep for secrets)."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.databases import PG_URL
from tests.support.helpers import SECRET, auth

needs_postgresql = pytest.mark.skipif(
    not PG_URL, reason="needs PostgreSQL (set TEST_DATABASE_URL): a proxy in front of it, or parallel writers"
)


def free_port() -> int:
    """A port the kernel just handed out (bound to port 0), free for the server to bind."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    process: subprocess.Popen[bytes]
    port: int
    log_file: Path

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        user: str | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 30,
    ) -> tuple[int, dict[str, str], bytes]:
        """One request on a new connection (`Connection: close`), so no request ever rides on a
        keep-alive connection the server may be closing."""
        headers = {"Connection": "close", **(auth(user) if user else {}), **(headers or {})}
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=payload, headers=headers)
            response = conn.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        finally:
            conn.close()

    def log(self) -> str:
        return self.log_file.read_text(encoding="utf-8", errors="replace")

    def stop(self, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)


@contextlib.contextmanager
def live_server(database_url: str, tmp_path: Path, workers: int = 1, **env: str) -> Iterator[LiveServer]:
    port = free_port()
    log_file = tmp_path / f"server-{port}.log"
    environment = {
        **os.environ,
        "BETTER_AUTH_SECRET": SECRET,
        "DATABASE_URL": database_url,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "LOG_LEVEL": "DEBUG",  # the most the logs ever say, for the tests that grep them for secrets
        "VALIDATE_RESPONSES": "true",
        # These servers take bursts no frontend sends (hundreds of writes a second); tests of the limits set them.
        "RATE_LIMIT_READ": "0",
        "RATE_LIMIT_WRITE": "0",
        **env,
    }
    with log_file.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
            [sys.executable, "-m", "handlers", "serve", "--workers", str(workers)],
            cwd=tmp_path,  # no .env there: the environment above is the whole configuration
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so cleanup reaches the workers it spawns
        )
    server = LiveServer(process, port, log_file)
    try:
        wait_until_listening(server)
        yield server
    finally:
        stop_group(process)


def stop_group(process: subprocess.Popen[bytes]) -> None:
    """Stop the server and every process it started (a failed test must not leave workers behind)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(10)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # whatever did not stop on SIGTERM
    process.wait(10)


def wait_until_listening(server: LiveServer, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{server.log()}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", server.port), timeout=1):
            return
        time.sleep(0.1)
    raise RuntimeError(f"server did not listen within {timeout} s:\n{server.log()}")
