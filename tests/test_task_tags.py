"""The tags a task carries: set by id or by name on create/update, added and removed one by one, and
never another user's."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, text
from starlette.testclient import TestClient

from models.tag import MAX_TAGS_PER_TASK, MAX_TAGS_PER_USER
from tests.support.helpers import assert_problem, auth, create_tag, create_task


def names(task: dict[str, Any]) -> list[str]:
    return [tag["name"] for tag in task["tags"]]


def test_tags_by_id_are_summaries_ordered_by_name(client: TestClient) -> None:
    work, home = create_tag(client, name="work", color="#00ff00"), create_tag(client, name="Home")
    task = create_task(client, tag_ids=[work["id"], home["id"], work["id"]])
    assert task["tags"] == [
        {"id": home["id"], "name": "Home", "color": None},
        {"id": work["id"], "name": "work", "color": "#00ff00"},
    ]


def test_tags_by_name_reuse_existing_ones_case_insensitively_and_create_the_rest(client: TestClient) -> None:
    work = create_tag(client, name="Work")
    task = create_task(client, tags=["work", " errands ", "ERRANDS"])
    assert names(task) == ["errands", "Work"]
    assert next(t["id"] for t in task["tags"] if t["name"] == "Work") == work["id"]
    assert len(client.get("/api/alice/tags", headers=auth()).json()) == 2


def test_a_task_without_tags_has_an_empty_list(client: TestClient) -> None:
    assert create_task(client)["tags"] == []


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_update_sets_exactly_the_given_tags_and_other_updates_keep_them(client: TestClient, method: str) -> None:
    a, b = create_tag(client, name="a")["id"], create_tag(client, name="b")["id"]
    task = create_task(client, tag_ids=[a])
    url = f"/api/alice/tasks/{task['id']}"
    assert names(client.request(method, url, json={"tag_ids": [b]}, headers=auth()).json()) == ["b"]
    assert names(client.request(method, url, json={"title": "renamed"}, headers=auth()).json()) == ["b"]
    assert client.request(method, url, json={"tags": []}, headers=auth()).json()["tags"] == []


def test_tag_ids_and_tags_together_are_400(client: TestClient) -> None:
    a = create_tag(client, name="a")["id"]
    response = client.post("/api/alice/tasks", json={"title": "x", "tag_ids": [a], "tags": ["b"]}, headers=auth())
    assert_problem(response, 400)
    assert client.get("/api/alice/tasks", headers=auth()).json() == []


def test_another_users_tag_id_is_treated_like_a_missing_one(client: TestClient) -> None:
    theirs = create_tag(client, "bob", name="secret")["id"]
    missing = theirs + 1000
    details = set()
    for tag_id in (theirs, missing):
        response = client.post("/api/alice/tasks", json={"title": "x", "tag_ids": [tag_id]}, headers=auth())
        details.add(assert_problem(response, 400)["detail"].replace(str(tag_id), "N"))
    assert details == {"tag_ids names tag N, which is not one of your tags"}
    assert client.get("/api/alice/tasks", headers=auth()).json() == []
    mine = create_task(client)
    response = client.put(f"/api/alice/tasks/{mine['id']}", json={"tag_ids": [theirs]}, headers=auth())
    assert_problem(response, 400)
    response = client.post(f"/api/alice/tasks/{mine['id']}/tags", json={"tag_ids": [theirs]}, headers=auth())
    assert_problem(response, 400)
    assert_problem(client.delete(f"/api/alice/tasks/{mine['id']}/tags/{theirs}", headers=auth()), 404)
    assert client.get(f"/api/bob/tags/{theirs}", headers=auth("bob")).json()["task_count"] == 0


def test_another_users_tag_as_a_filter_shows_nothing(client: TestClient) -> None:
    theirs = create_tag(client, "bob", name="secret")
    create_task(client, "bob", tag_ids=[theirs["id"]])
    create_task(client, title="mine")
    for query in (f"tag_ids={theirs['id']}", "tag=secret"):
        response = client.get(f"/api/alice/tasks?{query}", headers=auth())
        assert (response.status_code, response.json(), response.headers["X-Total-Count"]) == (200, [], "0")


def test_add_and_remove_return_the_task_and_move_updated_at(client: TestClient) -> None:
    a, b = create_tag(client, name="a")["id"], create_tag(client, name="b")["id"]
    task = create_task(client, tag_ids=[a])
    url = f"/api/alice/tasks/{task['id']}/tags"
    added = client.post(url, json={"tag_ids": [b, a]}, headers=auth())
    assert added.status_code == 200, added.text
    assert names(added.json()) == ["a", "b"]
    assert added.json()["updated_at"] > task["updated_at"]
    removed = client.delete(f"{url}/{a}", headers=auth())
    assert removed.status_code == 200, removed.text
    assert names(removed.json()) == ["b"]
    assert removed.json()["updated_at"] > added.json()["updated_at"]
    again = client.delete(f"{url}/{a}", headers=auth())  # not carried: nothing changes
    assert (again.status_code, again.json()) == (200, removed.json())


def test_adding_to_a_missing_or_foreign_task_is_404_before_the_tags_are_looked_at(client: TestClient) -> None:
    theirs = create_task(client, "bob")
    for task_id in (theirs["id"], theirs["id"] + 1000):
        response = client.post(f"/api/alice/tasks/{task_id}/tags", json={"tag_ids": [1]}, headers=auth())
        assert assert_problem(response, 404)["detail"] == f"Task {task_id} not found"
        assert_problem(client.delete(f"/api/alice/tasks/{task_id}/tags/1", headers=auth()), 404)


def test_a_task_carries_at_most_the_limit(client: TestClient) -> None:
    too_many = [f"t{i}" for i in range(MAX_TAGS_PER_TASK + 1)]
    assert_problem(client.post("/api/alice/tasks", json={"title": "x", "tags": too_many}, headers=auth()), 400)
    task = create_task(client, tags=too_many[:-1])
    extra = create_tag(client, name="extra")["id"]
    response = client.post(f"/api/alice/tasks/{task['id']}/tags", json={"tag_ids": [extra]}, headers=auth())
    assert_problem(response, 409)
    assert len(client.get(f"/api/alice/tasks/{task['id']}", headers=auth()).json()["tags"]) == MAX_TAGS_PER_TASK


def test_a_user_has_at_most_the_limit(client: TestClient, engine: Engine) -> None:
    create_tag(client, name="first")
    with engine.begin() as conn:  # the other tags straight into the table: 499 requests would add nothing
        conn.execute(
            text("INSERT INTO tags (user_id, name, name_key, created_at, updated_at) VALUES (:u, :n, :n, :t, :t)"),
            [{"u": "alice", "n": f"tag{i}", "t": "2026-01-01 00:00:00"} for i in range(MAX_TAGS_PER_USER - 1)],
        )
    assert_problem(client.post("/api/alice/tags", json={"name": "one more"}, headers=auth()), 409)
    response = client.post("/api/alice/tasks", json={"title": "x", "tags": ["first", "brand new"]}, headers=auth())
    assert_problem(response, 409)
    assert create_task(client, tags=["FIRST", "tag7"])["tags"][0]["name"] == "first"  # existing names still do
