"""Security headers, secrets kept out of logs, and the database bounds that keep a request from
hanging: an exhausted pool and a slow statement are 503s, not waits."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from starlette.testclient import TestClient

from handlers import app as app_module
from handlers.app import create_app
from handlers.config import ConfigError, Settings
from models import db
from models.db import make_engine, with_statement_timeout
from tests.helpers import SECRET, assert_problem, auth, create_task, token

JSON = {"Content-Type": "application/json"}


def test_every_task_response_is_nosniff_and_no_store(client: TestClient) -> None:
    task = create_task(client)
    path = f"/api/alice/tasks/{task['id']}"
    responses = [
        client.get("/api/alice/tasks", headers=auth()),
        client.get(path, headers=auth()),
        client.put(path, json={"title": "y"}, headers=auth()),
        client.patch(f"{path}/complete", headers=auth()),
        client.delete(path, headers=auth()),
        client.get(path, headers=auth()),  # 404
        client.get("/api/alice/tasks"),  # 401
        client.get("/api/bob/tasks", headers=auth()),  # 403
        client.get("/api/alice/tasks?limit=501", headers=auth()),  # 400
        client.post("/api/alice/tasks", content=b"x" * 70_000, headers={**auth(), **JSON}),  # 413
        client.get("/api/health"),
        client.get("/api/nowhere"),
    ]
    assert [r.status_code for r in responses] == [200, 200, 200, 200, 204, 404, 401, 403, 400, 413, 200, 404]
    for response in responses:
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"] == "no-store"
        assert "server" not in response.headers


def test_the_docs_may_be_cached(client: TestClient) -> None:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers.get("cache-control") != "no-store"


def test_no_token_or_secret_reaches_the_logs(
    settings: Settings, engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    # The app is made here, so that its log handler writes to the stream capsys captures.
    client = TestClient(create_app(settings), raise_server_exceptions=False)
    good = token("alice")
    sent = {
        "good": good,
        "bad signature": token("alice", secret="another-secret-" + "z" * 40),
        "expired": token("alice", ttl=-3600),
        "wrong algorithm": token("alice", algorithm="HS512"),
        "garbage": good[:-5] + "AAAAA",
    }
    for bearer in sent.values():
        headers = {"Authorization": f"Bearer {bearer}"}
        client.get("/api/alice/tasks", headers=headers)
        client.post("/api/alice/tasks", json={"title": "x"}, headers=headers)
        client.post("/api/alice/tasks", json={"title": 5}, headers=headers)  # a rejected body is logged
    client.get("/api/alice/tasks", headers={"Authorization": "Basic " + SECRET})
    logged = capsys.readouterr()
    log = logged.out + logged.err
    assert "task created" in log  # the lines were captured
    assert "No auth provided" in log  # so were the auth layer's
    assert SECRET not in log
    for bearer in sent.values():
        assert bearer.split(".")[2] not in log  # neither the token nor its signature


@pytest.fixture
def postgres_only(database_url: str) -> str:
    if not database_url.startswith("postgresql"):
        pytest.skip("pool and statement timeouts are PostgreSQL settings (SQLite has neither)")
    return database_url


@pytest.fixture
def captured_engine(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Engine]]:
    """The real engine the app builds, so a test can hold its connections."""
    engines: list[Engine] = []
    real = app_module.engine_for

    def capture(settings: Settings) -> Engine:
        engines.append(real(settings))
        return engines[-1]

    monkeypatch.setattr(app_module, "engine_for", capture)
    yield engines
    for engine in engines:
        engine.dispose()


def test_an_exhausted_pool_is_a_quick_503(postgres_only: str, engine: Engine, captured_engine: list[Engine]) -> None:
    settings = Settings(
        better_auth_secret=SECRET,
        database_url=postgres_only,
        validate_responses=True,
        db_pool_size=1,
        db_max_overflow=0,
        db_pool_timeout=0.5,
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        assert client.get("/api/health").status_code == 200
        with captured_engine[0].connect():  # the pool's only connection, held
            response = client.get("/api/alice/tasks", headers=auth())
            health = client.get("/api/health")
        assert_problem(response, 503)
        assert response.headers["retry-after"] == "5"
        assert health.status_code == 503
        assert client.get("/api/alice/tasks", headers=auth()).status_code == 200  # free again, fine again


def test_statement_timeout_is_set_on_every_connection(postgres_only: str) -> None:
    engine = make_engine(postgres_only, statement_timeout=1.5)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SHOW statement_timeout")).scalar_one() == "1500ms"
            with pytest.raises(Exception, match="statement timeout"):
                conn.execute(text("SELECT pg_sleep(3)"))
    finally:
        engine.dispose()


def test_migrations_have_no_statement_timeout(postgres_only: str) -> None:
    engine = make_engine(postgres_only, statement_timeout=None)  # as migrations/env.py makes it
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SHOW statement_timeout")).scalar_one() == "0"
            assert conn.execute(text("SELECT pg_sleep(0.1)")).scalar_one() == ""
    finally:
        engine.dispose()


def test_statement_timeout_keeps_the_urls_own_options() -> None:
    assert with_statement_timeout(None, 5) == "-c statement_timeout=5000"
    assert with_statement_timeout("endpoint=ep-x", 2.5) == "endpoint=ep-x -c statement_timeout=2500"


@pytest.mark.parametrize("name", ["db_statement_timeout", "db_pool_timeout", "db_connect_timeout", "shutdown_timeout"])
def test_unbounded_waits_are_refused(name: str) -> None:
    with pytest.raises(ConfigError, match="positive"):
        Settings(better_auth_secret=SECRET, **{name: 0})  # type: ignore[arg-type]


@pytest.mark.parametrize("idle_seconds", [0.0, 3600.0])
def test_a_connection_closed_while_idle_is_replaced_before_use(
    postgres_only: str, monkeypatch: pytest.MonkeyPatch, idle_seconds: float
) -> None:
    """What Neon does to an idle pooled connection, done with pg_terminate_backend: past the idle
    threshold the checkout pings and replaces it; within it (3600 s here) the dead one is used and fails,
    which is what shows the ping is what saves the request."""
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", idle_seconds)
    engine, admin = make_engine(postgres_only, pool_size=1, max_overflow=0), make_engine(postgres_only)
    try:
        with engine.connect() as conn:
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with admin.connect() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid}).scalar_one()
        with engine.connect() as conn:
            if idle_seconds:
                with pytest.raises(DBAPIError):
                    conn.execute(text("SELECT pg_backend_pid()"))
            else:
                assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() != pid
    finally:
        engine.dispose()
        admin.dispose()


def test_the_apps_engine_commits_each_statement_and_transaction_spans_several(database_url: str) -> None:
    """The app's engine is autocommit (a read or one-statement write skips BEGIN and COMMIT); work of
    several statements, like create's user upsert and insert, still commits or rolls back as one."""
    engine = make_engine(database_url, autocommit=True)
    insert = text("INSERT INTO users (id, created_at) VALUES (:id, CURRENT_TIMESTAMP)")
    count = text("SELECT count(*) FROM users WHERE id LIKE 'tx-%'")
    try:
        with engine.connect() as conn:
            conn.execute(insert, {"id": "tx-single"})  # no commit: autocommit kept it

        def two_inserts_then_a_failure() -> None:
            with db.transaction(engine) as conn:
                conn.execute(insert, {"id": "tx-first"})
                conn.execute(insert, {"id": "tx-second"})
                raise RuntimeError("the work after the second statement failed")

        with pytest.raises(RuntimeError):
            two_inserts_then_a_failure()
        with db.transaction(engine) as conn:
            conn.execute(insert, {"id": "tx-third"})
        with engine.connect() as conn:
            assert conn.execute(count).scalar_one() == 2  # tx-single and tx-third
    finally:
        with engine.connect() as conn:
            conn.execute(text("DELETE FROM users WHERE id LIKE 'tx-%'"))
        engine.dispose()


def test_a_user_id_starting_like_the_docs_paths_still_gets_no_store(client: TestClient) -> None:
    for user in ("uiZ7kq", "openapi.jsonX"):
        response = client.get(f"/api/{user}/tasks", headers=auth(user))
        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-store"


def test_database_waits_work_on_descriptors_over_1023(postgres_only: str) -> None:
    """select() refuses descriptors over 1023 (ValueError → 500); a busy worker's next connection
    gets one. Hold 1,100 descriptors open, then connect and query."""
    held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    engine = make_engine(postgres_only)
    try:
        with engine.connect() as conn:
            assert conn.connection.dbapi_connection.fileno() > 1023
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
    finally:
        engine.dispose()
        for fd in held:
            os.close(fd)


def test_errors_do_not_wait_behind_busy_handlers_and_a_full_house_is_a_503(postgres_only: str) -> None:
    """One handler slot (DB_POOL_SIZE=1), held by a list blocked on a table lock: another list gets a
    503 after DB_POOL_TIMEOUT, and a bad token its 401 at once (error handlers take no slot)."""
    settings = Settings(
        better_auth_secret=SECRET,
        database_url=postgres_only,
        db_pool_size=1,
        db_max_overflow=0,
        db_pool_timeout=0.5,
        db_statement_timeout=4,
    )
    locker = make_engine(postgres_only)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client, ThreadPoolExecutor(1) as pool:
        with locker.begin() as lock:
            lock.execute(text("LOCK TABLE tasks IN ACCESS EXCLUSIVE MODE"))
            blocked = pool.submit(client.get, "/api/alice/tasks", headers=auth())
            time.sleep(0.5)  # it has its slot and waits on the lock
            started = time.monotonic()
            unauthenticated = client.get("/api/alice/tasks", headers={"Authorization": "Bearer nonsense"})
            unauthenticated_seconds = time.monotonic() - started
            busy = client.get("/api/alice/tasks", headers=auth())
            busy_seconds = time.monotonic() - started - unauthenticated_seconds
        assert blocked.result(timeout=10).status_code == 200  # the lock is gone: it finishes
    locker.dispose()
    assert_problem(unauthenticated, 401)
    assert unauthenticated_seconds < 0.4, unauthenticated_seconds
    assert_problem(busy, 503)
    assert busy.headers["retry-after"] == "5"
    assert 0.4 < busy_seconds < 2.5, busy_seconds
