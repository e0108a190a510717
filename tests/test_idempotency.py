"""Idempotency-Key: a retried POST or toggle runs once and gets the first response back; client_id
makes a create repeatable for ever."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, text
from starlette.testclient import TestClient

from handlers.core import housekeeping
from handlers.core.config import Settings
from tests.support.helpers import assert_problem, auth, create_tag, create_task


def keyed(key: str, user: str = "alice") -> dict[str, str]:
    return {**auth(user), "Idempotency-Key": key}


def count(client: TestClient, user: str = "alice") -> int:
    return len(client.get(f"/api/{user}/tasks", headers=auth(user)).json())


@pytest.mark.parametrize("key", ["k1", '"k1"', "a" * 255, "~!#$%&'*+-.^_`|"])
def test_a_retried_create_gets_the_first_response_and_creates_nothing(client: TestClient, key: str) -> None:
    first = client.post("/api/alice/tasks", json={"title": "once", "priority": "high"}, headers=keyed(key))
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first.headers
    again = client.post("/api/alice/tasks", json={"priority": "high", "title": "once"}, headers=keyed(key))
    assert (again.status_code, again.content) == (201, first.content)  # same body, keys in any order
    assert again.headers["Idempotent-Replayed"] == "true"
    assert {h: again.headers[h] for h in ("Location", "ETag")} == {h: first.headers[h] for h in ("Location", "ETag")}
    assert again.headers["X-Request-ID"] != first.headers["X-Request-ID"]  # a request of its own
    assert count(client) == 1


def test_the_quoted_and_the_bare_key_are_one_key(client: TestClient) -> None:
    client.post("/api/alice/tasks", json={"title": "x"}, headers=keyed("k"))
    assert client.post("/api/alice/tasks", json={"title": "x"}, headers=keyed('"k"')).headers["Idempotent-Replayed"]


def test_the_same_key_for_another_request_is_422(client: TestClient) -> None:
    client.post("/api/alice/tasks", json={"title": "one"}, headers=keyed("k"))
    assert_problem(client.post("/api/alice/tasks", json={"title": "two"}, headers=keyed("k")), 422)
    assert_problem(client.post("/api/alice/tags", json={"name": "one"}, headers=keyed("k")), 422)  # another route
    assert count(client) == 1


def test_keys_are_each_users_own(client: TestClient) -> None:
    client.post("/api/alice/tasks", json={"title": "x"}, headers=keyed("k"))
    response = client.post("/api/bob/tasks", json={"title": "x"}, headers=keyed("k", "bob"))
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response.headers
    assert (count(client), count(client, "bob")) == (1, 1)


@pytest.mark.parametrize("key", ["", "a" * 256, "two words", "ü", '"unclosed', '"a\\"b"'])
def test_a_malformed_key_is_400(client: TestClient, key: str) -> None:
    headers: dict[str, Any] = {**auth(), "Idempotency-Key": key.encode("utf-8")}  # raw bytes on the wire
    assert_problem(client.post("/api/alice/tasks", json={"title": "x"}, headers=headers), 400)
    assert count(client) == 0


def test_a_request_that_changed_nothing_is_not_stored(client: TestClient) -> None:
    theirs = create_tag(client, "bob")["id"]
    bad = client.post("/api/alice/tasks", json={"title": "x", "tag_ids": [theirs]}, headers=keyed("k"))
    assert_problem(bad, 400)
    mine = create_tag(client, name="mine")["id"]
    fixed = client.post("/api/alice/tasks", json={"title": "x", "tag_ids": [mine]}, headers=keyed("k"))
    assert fixed.status_code == 201  # the key was free again: the corrected request ran
    assert count(client) == 1


def test_a_retried_toggle_flips_once(client: TestClient) -> None:
    task = create_task(client)
    url = f"/api/alice/tasks/{task['id']}/complete"
    first = client.patch(url, headers=keyed("toggle-1"))
    again = client.patch(url, headers=keyed("toggle-1"))
    assert (first.json()["completed"], again.json(), again.headers["Idempotent-Replayed"]) == (
        True, first.json(), "true",
    )  # fmt: skip
    assert client.get(f"/api/alice/tasks/{task['id']}", headers=auth()).json()["completed"] is True
    assert client.patch(url, headers=keyed("toggle-2")).json()["completed"] is False  # a new key, a new toggle


@pytest.mark.parametrize(
    ("path", "body"), [("/api/alice/tags", {"name": "once"}), ("/api/alice/tasks/{task}/tags", {"tag_ids": ["{tag}"]})]
)
def test_other_posts_are_idempotent_too(client: TestClient, path: str, body: dict[str, Any]) -> None:
    task, tag = create_task(client)["id"], create_tag(client, name="t")["id"]
    url = path.format(task=task)
    body = {k: ([tag] if v == ["{tag}"] else v) for k, v in body.items()}
    first = client.post(url, json=body, headers=keyed("k"))
    again = client.post(url, json=body, headers=keyed("k"))
    assert first.status_code in (200, 201), first.text
    assert (again.status_code, again.content, again.headers["Idempotent-Replayed"]) == (
        first.status_code, first.content, "true",
    )  # fmt: skip


def test_a_repeated_client_id_returns_the_task_it_made(client: TestClient) -> None:
    client_id = str(uuid.uuid4())
    first = client.post("/api/alice/tasks", json={"title": "offline", "client_id": client_id}, headers=auth())
    assert (first.status_code, first.json()["client_id"]) == (201, client_id)
    again = client.post(
        "/api/alice/tasks", json={"title": "edited offline", "client_id": client_id.upper()}, headers=auth()
    )
    assert (again.status_code, again.json(), again.headers["Location"]) == (
        200, first.json(), first.headers["Location"],
    )  # fmt: skip
    assert count(client) == 1
    other = client.post("/api/bob/tasks", json={"title": "x", "client_id": client_id}, headers=auth("bob"))
    assert other.status_code == 201  # another user's client ids are theirs


@pytest.mark.parametrize("client_id", ["", "not-a-uuid", "123e4567-e89b-12d3-a456-42661417400", 5])
def test_a_malformed_client_id_is_400(client: TestClient, client_id: Any) -> None:
    assert_problem(client.post("/api/alice/tasks", json={"title": "x", "client_id": client_id}, headers=auth()), 400)


def test_expired_keys_are_purged_and_then_free(client: TestClient, engine: Engine, settings: Settings) -> None:
    client.post("/api/alice/tasks", json={"title": "x"}, headers=keyed("old"))
    with engine.begin() as conn:
        conn.execute(text("UPDATE idempotency_keys SET expires_at = :t"), {"t": datetime(2000, 1, 1, tzinfo=UTC)})
    assert housekeeping.purge_once(engine, settings) == (1, 0)
    again = client.post("/api/alice/tasks", json={"title": "x"}, headers=keyed("old"))
    assert (again.status_code, "Idempotent-Replayed" in again.headers) == (201, False)
    assert count(client) == 2
