"""The prebuilt operations and the handler slots: the app routes to them, a full house is a 503, and
the bearer handler's signature check is the cached one. Each test here fails if Connexion stops
honouring the extension it checks (see handlers/runtime/__init__.py)."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text
from starlette.testclient import TestClient

from handlers.app import create_app, load_spec
from handlers.core import housekeeping
from handlers.core.config import Settings
from handlers.runtime.handler_slots import HandlerSlots
from handlers.runtime.operations import CachedBearerSecurityHandler, PrebuiltAsyncOperation, operations_of
from models import queries
from models.db import make_engine, waits_yield
from tests.support.helpers import SECRET, assert_problem, auth, create_task


def test_the_app_routes_to_prebuilt_operations(settings: Settings) -> None:
    app = create_app(settings)
    with TestClient(app):  # Connexion adds the APIs when the app starts
        operations = operations_of(app)
    spec_ids = {
        op["operationId"] for item in load_spec()["paths"].values() for op in item.values() if "operationId" in op
    }
    assert {op.operation_id for op in operations} == spec_ids
    for operation in operations:
        assert isinstance(operation, PrebuiltAsyncOperation), type(operation)
        assert operation.fn is operation.fn  # the decorator chain is built once, not per request


def test_a_full_house_of_handler_slots_is_a_503(
    settings: Settings, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One handler slot (DB_POOL_SIZE=1), held by a get blocked where a handler really waits (on an
    advisory lock in PostgreSQL, where handlers run on the event loop; on an event in SQLite's handler
    thread): a list that needs a slot gets a 503 once DB_POOL_TIMEOUT has passed, while the get waits."""
    entered, release = threading.Event(), threading.Event()
    real_get_task = queries.get_task

    def blocked_get_task(conn: Connection, *args: Any) -> Any:
        entered.set()
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SELECT pg_advisory_lock(7)")
            conn.exec_driver_sql("SELECT pg_advisory_unlock(7)")
        else:
            release.wait(30)
        return real_get_task(conn, *args)

    one_slot = Settings(**{**vars(settings), "db_pool_size": 1, "db_max_overflow": 0, "db_pool_timeout": 0.5})
    with TestClient(create_app(one_slot), raise_server_exceptions=False) as client, ThreadPoolExecutor(1) as pool:
        task = create_task(client)
        with engine.connect() as locker:
            if engine.dialect.name == "postgresql":
                locker.exec_driver_sql("SELECT pg_advisory_lock(7)")
            monkeypatch.setattr(queries, "get_task", blocked_get_task)
            holder = pool.submit(client.get, f"/api/alice/tasks/{task['id']}", headers=auth())
            try:
                assert entered.wait(30), "the get never reached its handler"
                busy = client.get("/api/alice/tasks", headers=auth())
            finally:
                release.set()
                if engine.dialect.name == "postgresql":
                    locker.exec_driver_sql("SELECT pg_advisory_unlock(7)")
        assert holder.result(timeout=30).status_code == 200
    problem = assert_problem(busy, 503)
    assert problem["detail"] == "The service is busy; try again shortly"
    assert busy.headers["retry-after"] == "5"


def test_a_handler_waiting_on_the_database_holds_up_no_other(postgres_url: str) -> None:
    """PostgreSQL: handlers run in greenlets on the event loop, and a database wait yields to it. While
    one get waits on a lock, another request is served at once, and the get finishes when the lock goes."""
    settings = Settings(better_auth_secret=SECRET, database_url=postgres_url)
    locker = make_engine(postgres_url)
    real_get_task = queries.get_task

    def locked_get_task(conn: Connection, *args: Any) -> Any:
        conn.exec_driver_sql("SELECT pg_advisory_lock(8)")
        conn.exec_driver_sql("SELECT pg_advisory_unlock(8)")
        return real_get_task(conn, *args)

    with TestClient(create_app(settings)) as client, ThreadPoolExecutor(1) as pool:
        task = create_task(client)
        with locker.connect() as lock, pytest.MonkeyPatch.context() as patch:
            lock.exec_driver_sql("SELECT pg_advisory_lock(8)")
            patch.setattr(queries, "get_task", locked_get_task)
            waiting = pool.submit(client.get, f"/api/alice/tasks/{task['id']}", headers=auth())
            time.sleep(0.5)  # the get waits on the lock
            started = time.monotonic()
            listed = client.get("/api/alice/tasks", headers=auth())
            list_seconds = time.monotonic() - started
            assert not waiting.done()
            lock.exec_driver_sql("SELECT pg_advisory_unlock(8)")
        assert waiting.result(timeout=10).status_code == 200
    locker.dispose()
    assert listed.status_code == 200
    assert list_seconds < 0.4, list_seconds


def test_the_first_requests_of_a_new_app_all_finish(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """PostgreSQL: until the engine's first connection, handlers run on threads. SQLAlchemy runs its
    first-connect hooks (the dialect's queries) under a threading lock; a handler greenlet waiting on the
    database inside it, and a second one blocked on the lock, would hold up the event loop for ever."""
    monkeypatch.setattr(housekeeping, "run", lambda *_: asyncio.sleep(0))  # its purge would connect first
    settings = Settings(better_auth_secret=SECRET, database_url=postgres_url)
    with TestClient(create_app(settings)) as client, ThreadPoolExecutor(8) as pool:
        lists = [pool.submit(client.get, "/api/alice/tasks", headers=auth()) for _ in range(8)]
        assert [f.result(timeout=20).status_code for f in lists] == [200] * 8


def test_a_cancelled_handler_leaves_no_query_on_a_pooled_connection(postgres_url: str) -> None:
    """PostgreSQL: cancelling a request (the shutdown deadline) stops its handler at its database wait.
    psycopg2 closes that connection (a wait callback that raises ends it), so the pool never hands out
    one with a query in flight; the next handler gets a fresh connection."""
    engine = make_engine(postgres_url, pool_size=1, max_overflow=0)
    slots = HandlerSlots(1, 5.0, waits_yield(engine))
    with engine.connect() as conn:  # the first connection, on this thread
        conn.execute(text("SELECT 1"))
    used: list[Any] = []

    def sleeping() -> None:
        with engine.connect() as conn:
            used.append(conn.connection.dbapi_connection)
            conn.exec_driver_sql("SELECT pg_sleep(3)")

    async def cancel_then_ask() -> Any:
        handler = asyncio.create_task(slots.run_sync(sleeping))
        await asyncio.sleep(0.3)
        handler.cancel()
        with pytest.raises(asyncio.CancelledError):
            await handler
        return await slots.run_sync(answer)

    def answer() -> Any:
        with engine.connect() as conn:
            return conn.exec_driver_sql("SELECT 42").scalar()

    assert asyncio.run(cancel_then_ask()) == 42
    assert used[0].closed
    engine.dispose()


def test_the_bearer_handler_asks_its_cached_signature_check(client: TestClient) -> None:
    before = CachedBearerSecurityHandler._accepts_kwarg.cache_info()
    for _ in range(3):
        assert client.get("/api/alice/tasks", headers=auth()).status_code == 200
    after = CachedBearerSecurityHandler._accepts_kwarg.cache_info()
    assert after.hits + after.misses >= before.hits + before.misses + 3  # consulted on every request
    assert after.currsize <= 2  # one function, the keywords `request` and `required_scopes`


def test_errors_do_not_wait_behind_busy_handlers_and_a_full_house_is_a_503(postgres_url: str) -> None:
    """One handler slot (DB_POOL_SIZE=1), held by a list blocked on a table lock: another list gets a
    503 after DB_POOL_TIMEOUT, and a bad token its 401 at once (error handlers take no slot)."""
    settings = Settings(
        better_auth_secret=SECRET,
        database_url=postgres_url,
        db_pool_size=1,
        db_max_overflow=0,
        db_pool_timeout=0.5,
        db_statement_timeout=4,
    )
    locker = make_engine(postgres_url)
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
