"""Database faults for real: a TCP proxy between a real uvicorn process and PostgreSQL is cut, stalled
and restored while requests are in flight. Requests fail fast with 503 (never a hang, never a 500),
every write acknowledged with 2xx is in the database afterwards, and the service recovers by itself."""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from tests.support.databases import with_port
from tests.support.helpers import SECRET, token
from tests.support.live import LiveServer, live_server
from tests.support.tcp_proxy import TcpProxy

# Small bounds so that each fault costs the suite seconds: connect 1 s, statement 1 s (+2 s client-side
# margin), pool wait 1 s. A request may wait for the pool, then a connect, then one statement.
FAST_FAILURE = {"DB_CONNECT_TIMEOUT": "1", "DB_STATEMENT_TIMEOUT": "1", "DB_POOL_TIMEOUT": "1"}
WORST_CASE_SECONDS = 1 + 1 + 3 + 2  # the sum above plus 2 s of slack for a busy 2-core machine


def database_address(url: str) -> tuple[str, int]:
    parsed = make_url(url)
    return parsed.host or "127.0.0.1", parsed.port or 5432


@pytest.fixture(scope="module")
def proxy(postgres_url: str) -> Iterator[TcpProxy]:
    proxy = TcpProxy(database_address(postgres_url))
    yield proxy
    proxy.close()


@pytest.fixture(scope="module")
def server(
    postgres_url: str, proxy: TcpProxy, tmp_path_factory: pytest.TempPathFactory, direct: Engine
) -> Iterator[LiveServer]:
    """One server for the module (starting one costs seconds); each test leaves the proxy open."""
    with live_server(with_port(postgres_url, proxy.port), tmp_path_factory.mktemp("faults"), **FAST_FAILURE) as server:
        yield server


def new_user() -> str:
    return f"fault-{uuid.uuid4().hex[:12]}"


def assert_clean_503(status: int, headers: dict[str, str], body: bytes) -> None:
    assert status == 503, body
    assert headers["content-type"] == "application/problem+json"
    assert int(headers["retry-after"]) > 0
    for leak in (b"Traceback", b"psycopg2", b"SELECT", b"INSERT", b"postgresql://"):
        assert leak not in body


def test_starts_while_the_database_is_down_and_heals_without_restart(postgres_url: str, tmp_path: Path) -> None:
    proxy = TcpProxy(database_address(postgres_url))  # its own, cut before the server starts
    proxy.cut()
    with (
        contextlib.closing(proxy),
        live_server(with_port(postgres_url, proxy.port), tmp_path, **FAST_FAILURE) as server,
    ):
        started = time.monotonic()
        assert_clean_503(*server.request("GET", "/api/health"))
        user = new_user()
        assert_clean_503(*server.request("POST", f"/api/{user}/tasks", {"title": "x"}, user=user))
        assert time.monotonic() - started < 2 * WORST_CASE_SECONDS
        proxy.restore()
        status, _, body = server.request("GET", "/api/health")
        assert status == 200, body
        assert server.request("POST", f"/api/{user}/tasks", {"title": "x"}, user=user)[0] == 201
        assert server.process.poll() is None  # the same process all along


def write_burst(
    server: LiveServer, fault: Callable[[], None], restore: Callable[[], None], fault_seconds: float
) -> list[tuple[int, float, int | None]]:
    """Four writers create tasks for 1 s, then the fault lasts `fault_seconds` while they keep writing,
    then the link is restored and they write for 1.5 s more. Returns (status, seconds, task id) each."""
    user = new_user()
    results: list[tuple[int, float, int | None]] = []
    lock = threading.Lock()
    stop = threading.Event()

    def writer(n: int) -> None:
        i = 0
        while not stop.is_set():
            started = time.monotonic()
            status, headers, body = server.request("POST", f"/api/{user}/tasks", {"title": f"w{n}-{i}"}, user=user)
            elapsed = time.monotonic() - started
            if status == 503:
                assert_clean_503(status, headers, body)
            task_id = int(headers["location"].rsplit("/", 1)[1]) if status == 201 else None
            with lock:
                results.append((status, elapsed, task_id))
            i += 1

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(1)
    fault()
    time.sleep(fault_seconds)
    restore()
    time.sleep(1.5)  # long enough for the pool to notice and reconnect
    stop.set()
    for thread in threads:
        thread.join(2 * WORST_CASE_SECONDS)
    return results


def check_burst(results: list[tuple[int, float, int | None]], direct: Engine, server: LiveServer) -> None:
    statuses = {status for status, _, _ in results}
    assert statuses <= {201, 503}, statuses
    assert 503 in statuses  # the fault was felt …
    assert results[-1][0] == 201 or any(s == 201 for s, _, _ in results[-4:])  # … and healed
    slowest = max(elapsed for _, elapsed, _ in results)
    assert slowest < WORST_CASE_SECONDS, slowest
    acknowledged = {task_id for status, _, task_id in results if status == 201}
    with direct.connect() as conn:
        rows = conn.execute(text("SELECT id FROM tasks WHERE id = ANY(:ids)"), {"ids": list(acknowledged)})
        stored = {row[0] for row in rows}
    assert acknowledged == stored  # no write acknowledged with 201 was lost
    assert "Traceback" not in server.log()  # 503s are expected faults, logged in one line each


def test_cut_connections_fail_fast_and_lose_no_acknowledged_write(
    server: LiveServer, proxy: TcpProxy, direct: Engine
) -> None:
    check_burst(write_burst(server, proxy.cut, proxy.restore, 2), direct, server)
    assert server.request("GET", "/api/health")[0] == 200


def test_a_stalled_database_fails_fast_and_loses_no_acknowledged_write(
    server: LiveServer, proxy: TcpProxy, direct: Engine
) -> None:
    # Longer than the 3 s a wait may last, so that waits time out rather than resume.
    check_burst(write_burst(server, proxy.stall, proxy.restore, 4), direct, server)
    assert server.request("GET", "/api/health")[0] == 200


def test_health_follows_the_database(server: LiveServer, proxy: TcpProxy) -> None:
    assert server.request("GET", "/api/health")[0] == 200
    proxy.stall()
    started = time.monotonic()
    assert_clean_503(*server.request("GET", "/api/health"))
    assert time.monotonic() - started < WORST_CASE_SECONDS
    proxy.cut()
    assert_clean_503(*server.request("GET", "/api/health"))
    proxy.restore()
    assert server.request("GET", "/api/health")[0] == 200


def test_logs_of_faults_hold_no_token_or_secret(server: LiveServer, proxy: TcpProxy) -> None:
    user = new_user()
    bearer = token(user)
    headers = {"Authorization": f"Bearer {bearer}"}
    proxy.cut()
    assert server.request("POST", f"/api/{user}/tasks", {"title": "x"}, headers=headers)[0] == 503
    proxy.restore()
    assert server.request("POST", f"/api/{user}/tasks", {"title": "x"}, headers=headers)[0] == 201
    bad_signature = token(user, secret="another-secret-" + "z" * 40)
    assert server.request("GET", f"/api/{user}/tasks", headers={"Authorization": f"Bearer {bad_signature}"})[0] == 401
    log = server.log()
    assert "task created" in log  # the log was captured at all
    assert SECRET not in log
    for sent in (bearer, bad_signature):
        assert sent.split(".")[2] not in log  # no token's signature, however a line might quote it
