"""The change feed: bootstrap and incremental sync in one loop, tombstones, opaque per-user cursors,
and the 410 after tombstones were purged."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from handlers.core import housekeeping
from handlers.core.config import Settings
from tests.support.helpers import assert_problem, auth, create_tag, create_task


def feed(client: TestClient, cursor: str | None = None, limit: int = 100, user: str = "alice") -> dict[str, Any]:
    query = {"limit": limit, **({"cursor": cursor} if cursor else {})}
    response = client.get(f"/api/{user}/changes", params=query, headers=auth(user))
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


def follow(client: TestClient, cursor: str | None = None, limit: int = 2) -> tuple[list[dict[str, Any]], str]:
    """Every change after the cursor, page by page, as a client's sync loop reads them."""
    seen: list[dict[str, Any]] = []
    while True:
        page = feed(client, cursor, limit)
        seen += page["changes"]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            return seen, cursor


def summary(changes: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    return [(c["kind"], (c.get("task") or c.get("tag") or c)["id"]) for c in changes]


def test_without_a_cursor_the_feed_is_the_whole_current_state(client: TestClient) -> None:
    tag = create_tag(client, name="a")
    first, second = create_task(client, tag_ids=[tag["id"]]), create_task(client)
    changes, _ = follow(client)
    # Taking the tag made a new version of it (its task_count), after the task.
    assert summary(changes) == [("task", first["id"]), ("tag", tag["id"]), ("task", second["id"])]
    assert changes[1]["tag"]["task_count"] == 1
    assert changes[0]["task"] == client.get(f"/api/alice/tasks/{first['id']}", headers=auth()).json()


def test_a_changed_item_appears_once_as_it_is_now_and_a_deleted_one_as_a_tombstone(client: TestClient) -> None:
    kept, gone = create_task(client, title="kept"), create_task(client, title="gone")
    _, cursor = follow(client)
    for title in ("one", "two", "three"):
        client.put(f"/api/alice/tasks/{kept['id']}", json={"title": title}, headers=auth())
    client.put(f"/api/alice/tasks/{gone['id']}", json={"title": "edited"}, headers=auth())
    client.delete(f"/api/alice/tasks/{gone['id']}", headers=auth())
    changes, cursor = follow(client, cursor)
    assert summary(changes) == [("task", kept["id"]), ("task_deleted", gone["id"])]
    assert (changes[0]["task"]["title"], changes[0]["task"]["version"]) == ("three", 4)
    assert (changes[1]["version"], set(changes[1])) == (3, {"kind", "id", "version", "deleted_at"})
    assert follow(client, cursor)[0] == []  # nothing new: the same cursor back, no changes


def test_tag_renames_and_deletes_show_the_tag_and_its_tasks(client: TestClient) -> None:
    tag = create_tag(client, name="a")
    task = create_task(client, tag_ids=[tag["id"]])
    _, cursor = follow(client)
    client.patch(f"/api/alice/tags/{tag['id']}", json={"name": "b"}, headers=auth())
    changes, cursor = follow(client, cursor)
    assert sorted(summary(changes)) == [("tag", tag["id"]), ("task", task["id"])]
    client.delete(f"/api/alice/tags/{tag['id']}", headers=auth())
    changes, _ = follow(client, cursor)
    assert sorted(summary(changes)) == [("tag_deleted", tag["id"]), ("task", task["id"])]
    assert next(c for c in changes if c["kind"] == "task")["task"]["tags"] == []


def test_pages_hold_at_most_limit_and_say_whether_more_follow(client: TestClient) -> None:
    ids = [create_task(client)["id"] for _ in range(5)]
    page = feed(client, limit=2)
    assert (summary(page["changes"]), page["has_more"]) == ([("task", ids[0]), ("task", ids[1])], True)
    changes, _ = follow(client, page["next_cursor"], limit=3)
    assert summary(changes) == [("task", i) for i in ids[2:]]


def test_another_users_changes_never_show(client: TestClient) -> None:
    create_task(client, "bob")
    create_tag(client, "bob")
    assert feed(client)["changes"] == []
    assert_problem(client.get("/api/bob/changes", headers=auth()), 403)


@pytest.mark.parametrize("cursor", ["x", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "not a cursor", "%00"])
def test_a_malformed_cursor_is_400(client: TestClient, cursor: str) -> None:
    assert_problem(client.get(f"/api/alice/changes?cursor={cursor}", headers=auth()), 400)


def test_another_users_cursor_is_400(client: TestClient) -> None:
    create_task(client, "bob")
    bobs = feed(client, user="bob")["next_cursor"]
    assert "cursor" in assert_problem(client.get(f"/api/alice/changes?cursor={bobs}", headers=auth()), 400)["detail"]


def test_a_cursor_from_before_purged_tombstones_is_410(client: TestClient, engine: Engine, settings: Settings) -> None:
    task = create_task(client)
    _, before = follow(client)
    client.delete(f"/api/alice/tasks/{task['id']}", headers=auth())
    _, after = follow(client, before)
    _, tombs = housekeeping.purge_once(engine, dataclasses.replace(settings, tombstone_days=0))
    assert tombs == 1
    problem = assert_problem(client.get(f"/api/alice/changes?cursor={before}", headers=auth()), 410)
    assert "without a cursor" in problem["detail"]
    assert feed(client, after)["changes"] == []  # a cursor past the purge goes on working
    assert feed(client)["changes"] == []  # and starting over always works
