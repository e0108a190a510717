"""Real parallel requests against a real uvicorn process on PostgreSQL: every write is one atomic
statement, so toggles, partial updates, creates and deletes never race."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson
import pytest

from tests.support.live import LiveServer, live_server

PARALLEL = 16


@pytest.fixture(scope="module")
def server(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    # A pool as large as the number of parallel clients, so they really run side by side.
    env = {"DB_POOL_SIZE": str(PARALLEL), "DB_MAX_OVERFLOW": "0"}
    with live_server(postgres_url, tmp_path_factory.mktemp("concurrency"), **env) as server:
        yield server


def in_parallel(server: LiveServer, requests: list[tuple[str, str, Any, str]]) -> list[tuple[int, Any]]:
    """(method, path, body, user) each on its own thread and connection; (status, JSON body) each."""

    def call(args: tuple[str, str, Any, str]) -> tuple[int, Any]:
        status, _, body = server.request(*args)
        return status, orjson.loads(body) if body else None

    with ThreadPoolExecutor(PARALLEL) as pool:
        return list(pool.map(call, requests))


def new_task(server: LiveServer, user: str) -> dict[str, Any]:
    status, _, body = server.request("POST", f"/api/{user}/tasks", {"title": "shared"}, user)
    assert status == 201, body
    task: dict[str, Any] = orjson.loads(body)
    return task


def test_each_toggle_flips_exactly_once(server: LiveServer) -> None:
    user = f"toggle-{uuid.uuid4().hex[:8]}"
    task = new_task(server, user)
    toggles = 2 * PARALLEL + 1
    results = in_parallel(server, [("PATCH", f"/api/{user}/tasks/{task['id']}/complete", None, user)] * toggles)
    assert {status for status, _ in results} == {200}
    # Serialised, the toggles saw pending, completed, pending, …: one more "completed" than "pending".
    seen = Counter(body["completed"] for _, body in results)
    assert seen == {True: PARALLEL + 1, False: PARALLEL}
    status, _, body = server.request("GET", f"/api/{user}/tasks/{task['id']}", user=user)
    assert status == 200
    assert orjson.loads(body)["completed"] is True  # an odd number of flips


def test_concurrent_partial_updates_keep_every_field(server: LiveServer) -> None:
    user = f"put-{uuid.uuid4().hex[:8]}"
    task = new_task(server, user)
    path = f"/api/{user}/tasks/{task['id']}"
    updates = [
        {"title": "new title"},
        {"description": "new description"},
        {"priority": "high"},
        {"due_date": "2030-01-02T03:04:05+00:00"},
    ]
    results = in_parallel(server, [("PUT", path, update, user) for update in updates * (PARALLEL // 4)])
    assert {status for status, _ in results} == {200}
    final = orjson.loads(server.request("GET", path, user=user)[2])
    assert final["title"] == "new title"
    assert final["description"] == "new description"
    assert final["priority"] == "high"
    assert final["due_date"].startswith("2030-01-02T03:04:05")


def test_concurrent_creates_never_collide(server: LiveServer) -> None:
    user = f"create-{uuid.uuid4().hex[:8]}"  # brand new: every request races to create the user row too
    creates = 3 * PARALLEL
    results = in_parallel(server, [("POST", f"/api/{user}/tasks", {"title": f"t{i}"}, user) for i in range(creates)])
    assert {status for status, _ in results} == {201}
    assert len({body["id"] for _, body in results}) == creates
    status, _, body = server.request("GET", f"/api/{user}/tasks?limit=500", user=user)
    assert status == 200
    assert sorted(t["title"] for t in orjson.loads(body)) == sorted(f"t{i}" for i in range(creates))


def test_concurrent_deletes_delete_once(server: LiveServer) -> None:
    user = f"delete-{uuid.uuid4().hex[:8]}"
    task = new_task(server, user)
    results = in_parallel(server, [("DELETE", f"/api/{user}/tasks/{task['id']}", None, user)] * PARALLEL)
    assert Counter(status for status, _ in results) == {204: 1, 404: PARALLEL - 1}


def test_concurrent_completions_create_one_next_occurrence(server: LiveServer) -> None:
    user = f"recur-{uuid.uuid4().hex[:8]}"
    status, _, body = server.request("POST", f"/api/{user}/tasks", {"title": "daily", "recurrence_rule": "daily"}, user)
    assert status == 201, body
    task_id = orjson.loads(body)["id"]
    url = f"/api/{user}/tasks/{task_id}"
    writes = [("PATCH", f"{url}/complete", {"completed": True}, user), ("PUT", url, {"completed": True}, user)]
    results = in_parallel(server, writes * PARALLEL)
    assert {status for status, _ in results} == {200}
    assert len({body["next_occurrence_id"] for _, body in results}) == 1  # every answer names the same one
    status, _, body = server.request("GET", f"/api/{user}/tasks", user=user)
    assert len(orjson.loads(body)) == 2
