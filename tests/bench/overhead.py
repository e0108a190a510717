"""The cost of metrics and rate limiting per request: the same `get` run against the server with both off,
with metrics on, with metrics and the memory:// limit, and with metrics and a Redis-shared limit (a
redis-server of its own on a free port). Reported as app CPU ms per request and the increase over "off"
(target: under 5 %). Part of `make bench`; `python -m tests.bench.overhead` runs it alone on a small seed.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import jwt
import psycopg2

from tests.bench import load
from tests.support.redis_server import RedisServer

ROOT = Path(__file__).resolve().parents[2]
# Far above what the run sends, so every request is counted and none refused: the cost of counting.
NEVER_REACHED = "100000000/minute"
OFF = {"METRICS_ENABLED": "false", "RATE_LIMIT_READ": "0", "RATE_LIMIT_WRITE": "0"}
METRICS = {"METRICS_ENABLED": "true", "RATE_LIMIT_READ": "0", "RATE_LIMIT_WRITE": "0"}
LIMITED = {"METRICS_ENABLED": "true", "RATE_LIMIT_READ": NEVER_REACHED, "RATE_LIMIT_WRITE": NEVER_REACHED}


def measure(
    env: dict[str, str],
    requests_file: Path,
    port: int,
    folder: Path,
    *,
    connections: int,
    seconds: int,
    rounds: int = 2,
) -> dict[str, Any]:
    """Each configuration `rounds` times, interleaved (the machine is shared: drift hits all alike); the
    lowest CPU per request of each is kept."""
    redis = RedisServer().start()
    configurations = {
        "off": OFF,
        "metrics": METRICS,
        "metrics + memory:// limit": {**LIMITED, "RATE_LIMIT_STORAGE": "memory://"},
        "metrics + redis:// limit": {**LIMITED, "RATE_LIMIT_STORAGE": redis.url},
    }
    best: dict[str, dict[str, float]] = {}
    try:
        for _ in range(rounds):
            for name, settings in configurations.items():
                argv = [sys.executable, "-m", "handlers", "serve", "--workers", "2"]
                log = folder / f"overhead-{name.split()[-1].strip(':/')}.log"
                server = load.Server.start(
                    argv, {**env, **settings, "PORT": str(port)}, f"http://127.0.0.1:{port}", log
                )
                try:
                    load.wrk(server.base, requests_file, connections, 2)
                    result = load.measured_wrk(server, requests_file, connections, seconds)
                finally:
                    server.stop()
                if name not in best or result["cpu_ms_per_request"] < best[name]["cpu_ms_per_request"]:
                    best[name] = result
                print(f"overhead {name}: {result['cpu_ms_per_request']:.3f} ms CPU/req", flush=True)
    finally:
        redis.stop()
    off = best["off"]["cpu_ms_per_request"]
    return {name: {**r, "cpu_increase": r["cpu_ms_per_request"] / off - 1 if off else 0.0} for name, r in best.items()}


def table(overhead: dict[str, Any]) -> str:
    out = [
        "| server (get, --workers 2) | req/s | p50 ms | errors | app CPU ms/req | vs off |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in overhead.items():
        out.append(
            f"| {name} | {r['rps']:.0f} | {r['p50_us'] / 1000:.2f} | {r['errors']:.0f} "
            f"| {r['cpu_ms_per_request']:.3f} | {r['cpu_increase']:+.1%} |"
        )
    return "\n".join(out)


def main() -> int:
    """Alone: a fresh database with 100 users of 50 tasks, `get` for 8 s per configuration."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    folder = ROOT / ".bench" / f"overhead-{stamp}"
    folder.mkdir(parents=True)
    database = f"taskapi_overhead_{stamp.replace('-', '_')}_{os.getpid()}"
    admin = psycopg2.connect("host=127.0.0.1 port=5432 user=postgres dbname=postgres")
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{database}"')
    url = f"postgresql://postgres@127.0.0.1:5432/{database}"
    secret = secrets.token_urlsafe(48)
    env = {**os.environ, "DATABASE_URL": url, "BETTER_AUTH_SECRET": secret, "HOST": "127.0.0.1"}
    env |= {"LOG_LEVEL": "WARNING", "LOG_FORMAT": "json", "VALIDATE_RESPONSES": "false"}
    try:
        subprocess.run([sys.executable, "-m", "alembic", "upgrade", "head"], env=env, cwd=ROOT, check=True)
        conn = psycopg2.connect(url)
        conn.autocommit = True
        with conn.cursor() as cur:
            users = [f"bench-{n}" for n in range(1, 101)]
            cur.execute("INSERT INTO users (id, created_at) SELECT unnest(%s::text[]), now()", (users,))
            cur.execute(
                "INSERT INTO tasks (user_id, title, title_key, completed, priority, created_at, updated_at) "
                "SELECT u, 'task ' || g, 'task ' || g, false, 'medium', now(), now() FROM unnest(%s::text[]) u, "
                "generate_series(1, 50) g RETURNING id, user_id",
                (users,),
            )
            rows = cur.fetchall()
        conn.close()
        exp = int(time.time()) + 3600
        tokens = {u: jwt.encode({"sub": u, "exp": exp}, secret, algorithm="HS256") for u in users}
        requests_file = folder / "get.tsv"
        requests_file.write_text("".join(f"GET\t/api/{u}/tasks/{i}\t{tokens[u]}\t\n" for i, u in rows))
        overhead = measure(env, requests_file, 8701, folder, connections=64, seconds=8)
        (folder / "overhead.md").write_text(table(overhead) + "\n")
        print(table(overhead))
    finally:
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
