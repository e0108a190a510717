"""Never lose an edit, under real parallel requests on PostgreSQL: compare-and-set writes, retried
creates, `updated_at` in commit order, and a change feed that a follower can rebuild the state from."""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import orjson
import pytest
from sqlalchemy import text

from models.db import make_engine
from tests.support.live import LiveServer, live_server

PARALLEL = 16


@pytest.fixture(scope="module")
def server(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    env = {"DB_POOL_SIZE": str(PARALLEL), "DB_MAX_OVERFLOW": "0"}
    with live_server(postgres_url, tmp_path_factory.mktemp("sync"), **env) as server:
        yield server


def call(
    server: LiveServer, method: str, path: str, body: Any, user: str, **headers: str
) -> tuple[int, dict[str, str], Any]:
    status, response_headers, raw = server.request(method, path, body, user, headers=headers or None)
    return status, response_headers, orjson.loads(raw) if raw else None


def parallel(jobs: list[Any]) -> list[Any]:
    with ThreadPoolExecutor(PARALLEL) as pool:
        return list(pool.map(lambda job: job(), jobs))


def new_user() -> str:
    return f"sync-{uuid.uuid4().hex[:8]}"


def test_parallel_writes_with_one_etag_have_one_winner(server: LiveServer) -> None:
    user = new_user()
    _, headers, task = call(server, "POST", f"/api/{user}/tasks", {"title": "start"}, user)
    url = f"/api/{user}/tasks/{task['id']}"
    jobs = [
        lambda i=i: call(server, "PUT", url, {"title": f"writer {i}"}, user, **{"If-Match": headers["etag"]})
        for i in range(PARALLEL)
    ]
    results = parallel(jobs)
    winners = [body for status, _, body in results if status == 200]
    assert len(winners) == 1
    assert sorted(status for status, _, _ in results) == [200] + [412] * (PARALLEL - 1)
    assert {h["etag"] for status, h, _ in results if status == 412} == {'"2"'}  # each told the current one
    assert call(server, "GET", url, None, user)[2] == winners[0]


def test_parallel_retries_of_one_create_make_one_task(server: LiveServer) -> None:
    user = new_user()
    body = {"title": "retried", "priority": "high"}
    jobs = [lambda: call(server, "POST", f"/api/{user}/tasks", body, user, **{"Idempotency-Key": "retry-1"})] * 20
    results = parallel(jobs)
    assert {status for status, _, _ in results} == {201}
    assert len({orjson.dumps(body) for _, _, body in results}) == 1  # 20 identical responses
    assert sum(h.get("idempotent-replayed") == "true" for _, h, _ in results) == 19
    assert len(call(server, "GET", f"/api/{user}/tasks", None, user)[2]) == 1


def test_updated_at_increases_in_commit_order(server: LiveServer) -> None:
    user = new_user()
    _, _, task = call(server, "POST", f"/api/{user}/tasks", {"title": "start"}, user)
    url = f"/api/{user}/tasks/{task['id']}"
    for _ in range(5):
        results = parallel([lambda i=i: call(server, "PUT", url, {"title": f"w{i}"}, user) for i in range(20)])
        acknowledged = sorted((body["version"], datetime.fromisoformat(body["updated_at"])) for _, _, body in results)
        stamps = [stamp for _, stamp in acknowledged]  # in commit order: the version is bumped under the row lock
        assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps), acknowledged
        stored = call(server, "GET", url, None, user)[2]
        assert datetime.fromisoformat(stored["updated_at"]) == stamps[-1]


def writer(server: LiveServer, user: str, seed: int, stop: threading.Event) -> None:
    rng = random.Random(seed)  # noqa: S311 (a reproducible workload, not a secret)
    tasks: list[int] = []
    tags: list[int] = []
    while not stop.is_set():
        action = rng.choice(["create", "create", "update", "toggle", "delete", "tag", "rename", "untag"])
        if action == "create" or not tasks:
            status, _, body = call(server, "POST", f"/api/{user}/tasks", {"title": f"t{rng.random()}"}, user)
            tasks.append(body["id"])
        elif action == "update":
            call(server, "PATCH", f"/api/{user}/tasks/{rng.choice(tasks)}", {"title": f"u{rng.random()}"}, user)
        elif action == "toggle":
            call(server, "PATCH", f"/api/{user}/tasks/{rng.choice(tasks)}/complete", None, user)
        elif action == "delete":
            call(server, "DELETE", f"/api/{user}/tasks/{tasks.pop(rng.randrange(len(tasks)))}", None, user)
        elif action == "tag":
            status, _, body = call(
                server, "PATCH", f"/api/{user}/tasks/{rng.choice(tasks)}", {"tags": [f"g{rng.randrange(4)}"]}, user
            )
            if status == 200:
                tags.extend(t["id"] for t in body["tags"])
        elif action == "rename" and tags:
            call(
                server, "PATCH", f"/api/{user}/tags/{rng.choice(tags)}", {"color": f"#{rng.randrange(16**6):06x}"}, user
            )
        elif action == "untag" and tags:
            call(server, "DELETE", f"/api/{user}/tags/{tags.pop(rng.randrange(len(tags)))}", None, user)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_follower_of_the_feed_rebuilds_the_servers_state(server: LiveServer, seed: int) -> None:
    user = new_user()
    mirror: dict[tuple[str, int], Any] = {}
    cursor: str | None = None

    def sync() -> None:
        nonlocal cursor
        while True:
            query = f"?limit=7{'&cursor=' + cursor if cursor else ''}"
            status, _, page = call(server, "GET", f"/api/{user}/changes{query}", None, user)
            assert status == 200, page
            for change in page["changes"]:
                kind = change["kind"]
                if kind in ("task", "tag"):
                    mirror[(kind, change[kind]["id"])] = change[kind]
                else:
                    mirror.pop((kind.removesuffix("_deleted"), change["id"]), None)
            cursor = page["next_cursor"]
            if not page["has_more"]:
                return

    stop = threading.Event()
    with ThreadPoolExecutor(4) as pool:
        writers = [pool.submit(writer, server, user, seed * 10 + i, stop) for i in range(3)]
        for _ in range(15):
            sync()  # while the writers write
        stop.set()
        for done in writers:
            done.result()
    sync()
    tasks = call(server, "GET", f"/api/{user}/tasks?limit=500", None, user)[2]
    tags = call(server, "GET", f"/api/{user}/tags", None, user)[2]
    expected = {("task", t["id"]): t for t in tasks} | {("tag", t["id"]): t for t in tags}
    assert len(expected) > 5
    assert mirror == expected


def test_a_retry_while_the_first_request_is_in_flight_is_409(server: LiveServer, postgres_url: str) -> None:
    """The first request's claim is held by an open transaction, as while its write is running."""
    user = new_user()
    engine = make_engine(postgres_url)
    try:
        with engine.connect() as conn, conn.begin():
            conn.execute(
                text("INSERT INTO idempotency_keys (user_id, key, fingerprint, locked_at, expires_at) "
                     "VALUES (:u, 'slow', 'x', now(), now() + interval '1 hour')"),
                {"u": user},
            )  # fmt: skip
            status, headers, body = call(
                server, "POST", f"/api/{user}/tasks", {"title": "x"}, user, **{"Idempotency-Key": "slow"}
            )
            conn.rollback()  # the first request failed: nothing was stored
    finally:
        engine.dispose()
    assert (status, headers["retry-after"]) == (409, "1"), body
    assert "in flight" in body["detail"]
    status, _, _ = call(server, "POST", f"/api/{user}/tasks", {"title": "x"}, user, **{"Idempotency-Key": "slow"})
    assert status == 201  # now the key is free: the retry runs
