"""`make bench`: the task API as in production, on a fresh seeded PostgreSQL database, under wrk.

Steps: create and migrate a database, seed it, start `python -m handlers serve --workers 2` (JSON logs at
WARNING, response validation off), run every operation at -c64 (a warm-up, then a measured run), the list
against users with 100 / 10k / 100k tasks, then the two references (the no-work floor app, pgbench with the
handlers' SQL). Results go to `.bench/` as JSON, Markdown and a PNG. Every run is bounded by `--seconds`.
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import jwt
import orjson
import psycopg2

from tests.bench import load, overhead, paging, report, seed, statements

ROOT = Path(__file__).resolve().parents[2]
ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
WORKERS = 2
POOL_SIZE = 10  # the DB_POOL_SIZE default, per worker
SAMPLE = seed.bench_users()[::10]  # 100 of the 50-task users, spread over the table
DELETE_WARMUP = 10_000
FILTERED = "?status=pending&sort=due_date"


def admin(sql: str) -> None:
    conn = psycopg2.connect(ADMIN_DSN)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(sql)
    conn.close()


def interleaved(ids: dict[str, list[int]], users: list[str]) -> list[tuple[str, int]]:
    """(user, task id) pairs taking one task of each user in turn, so concurrent requests are spread over
    users as real traffic is, not 64 at once on one user's tasks."""
    return [(u, ids[u][k]) for k in range(min(len(ids[u]) for u in users)) for u in users]


def request_files(
    folder: Path, secret: str, ids: dict[str, list[int]], tag_of: dict[str, dict[str, int]]
) -> dict[str, Any]:
    """One file of requests per run (see requests.lua), each user's requests carrying that user's token."""
    exp = int(time.time()) + 3600
    users = [*ids, *seed.TAGGED_USERS, *(seed.growth_user(size) for size in seed.GROWTH_SIZES)]
    tokens = {u: jwt.encode({"sub": u, "exp": exp}, secret, algorithm="HS256") for u in users}
    body = orjson.dumps
    lines: dict[str, list[tuple[str, str, str, bytes]]] = {
        "list_default": [("GET", f"/api/{u}/tasks", u, b"") for u in SAMPLE],
        "list_filtered": [("GET", f"/api/{u}/tasks{FILTERED}", u, b"") for u in SAMPLE],
        "list_tagged": [("GET", f"/api/{u}/tasks", u, b"") for u in seed.TAGGED_USERS],  # 3 tags per task
        "get": [("GET", f"/api/{u}/tasks/{i}", u, b"") for u, i in interleaved(ids, SAMPLE)],
        "create": [
            ("POST", f"/api/{u}/tasks", u, body({"title": f"New task {n}", "priority": "high", "due_date": None}))
            for n, u in enumerate(SAMPLE)
        ],
        "update": [
            ("PUT", f"/api/{u}/tasks/{i}", u, body({"title": f"Renamed {i}"})) for u, i in interleaved(ids, SAMPLE)
        ],
        "complete": [
            ("PATCH", f"/api/{u}/tasks/{i}/complete", u, body({"completed": True})) for u, i in interleaved(ids, SAMPLE)
        ],
        "changes": [("GET", f"/api/{u}/changes?limit=100", u, b"") for u in SAMPLE],  # a client's first sync
    }
    deletes = [("DELETE", f"/api/{u}/tasks/{i}", u, b"") for u, i in interleaved(ids, seed.DELETE_USERS)]
    lines["delete_warmup"], lines["delete"] = deletes[:DELETE_WARMUP], deletes[DELETE_WARMUP:]
    for size in seed.GROWTH_SIZES:
        user = seed.growth_user(size)
        lines[f"grow_default_{size}"] = [("GET", f"/api/{user}/tasks", user, b"")]
        lines[f"grow_filtered_{size}"] = [("GET", f"/api/{user}/tasks{FILTERED}", user, b"")]
        for kind in seed.GROWTH_TAGS:
            lines[f"grow_{kind}_{size}"] = [("GET", f"/api/{user}/tasks?tag_ids={tag_of[kind][user]}", user, b"")]
    files: dict[str, Any] = {"tokens": tokens}
    for name, rows in lines.items():
        files[name] = folder / f"{name}.tsv"
        files[name].write_bytes(b"".join(f"{m}\t{p}\t{tokens[u]}\t".encode() + b + b"\n" for m, p, u, b in rows))
    return files


def sessions(cur: psycopg2.extensions.cursor, database: str) -> int:
    cur.execute("SELECT pg_stat_force_next_flush()")
    time.sleep(1.0)  # backends report their session counts asynchronously
    cur.execute("SELECT sessions FROM pg_stat_database WHERE datname = %s", (database,))
    return int(cur.fetchone()[0])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make bench")
    parser.add_argument("--seconds", type=int, default=10, help="measured seconds per operation")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--port", type=int, default=8601)
    parser.add_argument("--out", type=Path, default=ROOT / ".bench")
    args = parser.parse_args(argv)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    folder = args.out / stamp
    folder.mkdir(parents=True)
    database = f"taskapi_bench_{stamp.replace('-', '_')}_{os.getpid()}"
    url = f"postgresql://postgres@127.0.0.1:5432/{database}"
    admin(f'CREATE DATABASE "{database}"')
    try:
        return run(args, folder, database, url)
    finally:
        admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def run(args: argparse.Namespace, folder: Path, database: str, url: str) -> int:
    secret = secrets.token_urlsafe(48)
    env = {
        **os.environ,
        **{"DATABASE_URL": url, "BETTER_AUTH_SECRET": secret, "HOST": "127.0.0.1", "PORT": str(args.port)},
        **{"LOG_LEVEL": "WARNING", "LOG_FORMAT": "json", "VALIDATE_RESPONSES": "false"},
        "DB_POOL_SIZE": str(POOL_SIZE),
        # Production defaults (metrics on, memory:// limits) but a limit no run reaches: 100 users at ~1000
        # req/s would pass the default 300 writes/minute. The cost of both is measured apart (overhead.py).
        "RATE_LIMIT_READ": overhead.NEVER_REACHED,
        "RATE_LIMIT_WRITE": overhead.NEVER_REACHED,
    }
    subprocess.run([sys.executable, "-m", "alembic", "upgrade", "head"], env=env, cwd=ROOT, check=True)
    t0 = time.monotonic()
    conn = psycopg2.connect(url)
    conn.autocommit = True
    cur = conn.cursor()
    seed.seed(cur)
    cur.execute("VACUUM ANALYZE")
    ids = seed.task_ids(cur, [*SAMPLE, *seed.DELETE_USERS])
    print(f"seeded in {time.monotonic() - t0:.1f} s", flush=True)
    for user in SAMPLE:  # what statements.py's get script assumes
        n = int(user.removeprefix("bench-"))
        assert ids[user] == list(range((n - 1) * seed.TASKS_PER_USER + 1, n * seed.TASKS_PER_USER + 1)), user
    growth_users = [seed.growth_user(size) for size in seed.GROWTH_SIZES]
    tag_of = {kind: seed.tag_ids(cur, growth_users, tag) for kind, (tag, _) in seed.GROWTH_TAGS.items()}
    files = request_files(folder, secret, ids, tag_of)
    results: dict[str, dict[str, float]] = {}
    last = report.last_committed()  # each figure is printed beside it, so that a regression shows
    print(f"last committed run: {last.get('commit', 'none')}", flush=True)
    base = f"http://127.0.0.1:{args.port}"
    argv = [sys.executable, "-m", "handlers", "serve", "--workers", str(WORKERS)]
    server = load.Server.start(argv, env, base, folder / "server.log")
    try:
        opened_before = sessions(cur, database)
        ops = ("list_default", "list_filtered", "list_tagged", "get", "create", "update", "complete", "delete")
        for op in (*ops, "changes"):
            load.wrk(base, files.get(f"{op}_warmup", files[op]), args.connections, 3)
            results[op] = load.measured_wrk(server, files[op], args.connections, args.seconds)
            print(f"{op}: {report.line(results[op], last.get('operations', {}).get(op))}", flush=True)
        paging.write_files(folder, paging.request_lines(base, files["tokens"]), files["tokens"])
        files.update({name: folder / f"{name}.tsv" for name in paging.FIGURES})
        growth = {}
        for size in seed.GROWTH_SIZES:
            for kind in report.GROWTH_KINDS:
                name = f"grow_{kind}_{size}"
                load.wrk(base, files[name], 8, 2)
                growth[name] = load.measured_wrk(server, files[name], 8, max(args.seconds // 2, 3))
                print(f"{name}: {report.line(growth[name], last.get('growth', {}).get(name))}", flush=True)
        for name in paging.FIGURES:
            load.wrk(base, files[name], 8, 2)
            growth[name] = load.measured_wrk(server, files[name], 8, max(args.seconds // 2, 3))
            print(f"{name}: {report.line(growth[name], last.get('growth', {}).get(name))}", flush=True)
        opened = sessions(cur, database) - opened_before
    finally:
        server.stop()
    costs = overhead.measure(env, files["get"], args.port, folder, connections=args.connections, seconds=args.seconds)
    floor_argv = [sys.executable, "-m", "uvicorn", "tests.bench.floor:create_app", "--factory"]
    floor_argv += ["--workers", str(WORKERS), "--port", str(args.port + 1), "--log-level", "warning"]
    floor_argv += ["--no-server-header", "--no-proxy-headers"]
    floor = load.Server.start(floor_argv, env, f"http://127.0.0.1:{args.port + 1}", folder / "floor.log")
    try:
        floor_file = folder / "floor.tsv"
        floor_file.write_text("GET\t/api/floor\t-\t\n")
        load.wrk(floor.base, floor_file, args.connections, 3)
        results["floor"] = load.measured_wrk(floor, floor_file, args.connections, args.seconds)
        print(f"floor: {report.line(results['floor'], last.get('operations', {}).get('floor'))}", flush=True)
    finally:
        floor.stop()
    pg = {}
    for name, sql in statements.pgbench_scripts(url).items():
        script = folder / f"{name}.sql"
        script.write_text(sql)
        pg[name] = load.pgbench(database, script, WORKERS * POOL_SIZE, args.seconds)
        print(f"pgbench {name}: {pg[name]:.0f} tps", flush=True)
    cur.close()
    conn.close()
    pool = {"workers": WORKERS, "pool_size": POOL_SIZE, "sessions_opened": opened}
    report.write(folder, results, growth, pg, pool, costs, last, connections=args.connections, seconds=args.seconds)
    print(f"results in {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
