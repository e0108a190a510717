"""The prebuilt operations and the handler slots: the app routes to them, a full house is a 503, and
the bearer handler's signature check is the cached one. Each test here fails if Connexion stops
honouring the extension it checks (see handlers/runtime/__init__.py)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import Engine, text
from starlette.testclient import TestClient

from handlers.app import create_app, load_spec
from handlers.core.config import Settings
from handlers.runtime.operations import CachedBearerSecurityHandler, PrebuiltAsyncOperation, operations_of
from models import queries
from models.db import make_engine
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
    """One handler slot (DB_POOL_SIZE=1), held by a get blocked on an event: a list that needs a slot gets
    a 503 once DB_POOL_TIMEOUT has passed, while the get is still running."""
    entered, release = threading.Event(), threading.Event()
    real_get_task = queries.get_task

    def blocked_get_task(*args: Any) -> Any:
        entered.set()
        release.wait(30)
        return real_get_task(*args)

    one_slot = Settings(**{**vars(settings), "db_pool_size": 1, "db_max_overflow": 0, "db_pool_timeout": 0.5})
    with TestClient(create_app(one_slot), raise_server_exceptions=False) as client, ThreadPoolExecutor(1) as pool:
        task = create_task(client)
        monkeypatch.setattr(queries, "get_task", blocked_get_task)
        holder = pool.submit(client.get, f"/api/alice/tasks/{task['id']}", headers=auth())
        try:
            assert entered.wait(30), "the get never reached its handler"
            busy = client.get("/api/alice/tasks", headers=auth())
        finally:
            release.set()
        assert holder.result(timeout=30).status_code == 200
    problem = assert_problem(busy, 503)
    assert problem["detail"] == "The service is busy; try again shortly"
    assert busy.headers["retry-after"] == "5"


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
