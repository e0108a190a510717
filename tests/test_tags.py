"""Tags: a user's own named labels, their operations, and what a change to one does to its tasks."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.support.helpers import assert_problem, auth, create_tag, create_task

TAG_KEYS = {"id", "name", "color", "task_count", "version", "created_at", "updated_at"}


def test_create_returns_the_tag_with_location(client: TestClient) -> None:
    response = client.post("/api/alice/tags", json={"name": "  Work \t", "color": "#1A2b3C"}, headers=auth())
    assert response.status_code == 201, response.text
    tag = response.json()
    assert set(tag) == TAG_KEYS
    assert (tag["name"], tag["color"], tag["task_count"]) == ("Work", "#1A2b3C", 0)
    assert response.headers["Location"] == f"/api/alice/tags/{tag['id']}"
    assert client.get(response.headers["Location"], headers=auth()).json() == tag


def test_list_is_ordered_by_name_case_insensitively_with_task_counts(client: TestClient) -> None:
    home, work, errands = (create_tag(client, name=n)["id"] for n in ("home", "Work", "errands"))
    create_task(client, tag_ids=[home, work])
    create_task(client, tag_ids=[work])
    response = client.get("/api/alice/tags", headers=auth())
    assert response.status_code == 200
    assert [(t["name"], t["task_count"]) for t in response.json()] == [("errands", 0), ("home", 1), ("Work", 2)]
    assert {t["id"] for t in response.json()} == {home, work, errands}


@pytest.mark.parametrize("name", ["work", "WORK", " Work "])
def test_a_duplicate_name_is_a_conflict(client: TestClient, name: str) -> None:
    create_tag(client, name="Work")
    problem = assert_problem(client.post("/api/alice/tags", json={"name": name}, headers=auth()), 409)
    assert "exists already" in problem["detail"]
    assert len(client.get("/api/alice/tags", headers=auth()).json()) == 1


def test_another_user_may_use_the_same_name(client: TestClient) -> None:
    create_tag(client, name="work")
    assert create_tag(client, "bob", name="work")["name"] == "work"


@pytest.mark.parametrize(
    "body",
    [{}, {"name": ""}, {"name": "   "}, {"name": "x" * 51}, {"name": "a,b"}, {"name": "ok", "color": "red"},
     {"name": "ok", "color": "#12345"}, {"name": "ok", "extra": 1}, {"name": 5}, {"name": "a\u0000b"}],
)  # fmt: skip
def test_bad_tag_bodies_are_400(client: TestClient, body: dict[str, Any]) -> None:
    assert_problem(client.post("/api/alice/tags", json=body, headers=auth()), 400)
    assert client.get("/api/alice/tags", headers=auth()).json() == []


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_rename_shows_on_every_task_and_moves_their_updated_at(client: TestClient, method: str) -> None:
    tag = create_tag(client, name="wrok")
    task = create_task(client, tag_ids=[tag["id"]])
    response = client.request(method, f"/api/alice/tags/{tag['id']}", json={"name": "work"}, headers=auth())
    assert response.status_code == 200, response.text
    assert (response.json()["name"], response.json()["color"]) == ("work", None)
    after = client.get(f"/api/alice/tasks/{task['id']}", headers=auth()).json()
    assert [t["name"] for t in after["tags"]] == ["work"]
    assert after["updated_at"] > task["updated_at"]


def test_patch_changes_only_the_fields_sent_and_null_clears_the_color(client: TestClient) -> None:
    tag = create_tag(client, name="work", color="#000000")
    response = client.patch(f"/api/alice/tags/{tag['id']}", json={"color": None}, headers=auth())
    assert (response.json()["name"], response.json()["color"]) == ("work", None)
    response = client.patch(f"/api/alice/tags/{tag['id']}", json={"color": "#ffffff"}, headers=auth())
    assert (response.json()["name"], response.json()["color"]) == ("work", "#ffffff")


def test_rename_onto_another_tags_name_is_a_conflict(client: TestClient) -> None:
    create_tag(client, name="home")
    work = create_tag(client, name="work")
    response = client.put(f"/api/alice/tags/{work['id']}", json={"name": "HOME"}, headers=auth())
    assert_problem(response, 409)
    assert client.get(f"/api/alice/tags/{work['id']}", headers=auth()).json()["name"] == "work"


def test_delete_removes_the_tag_from_its_tasks(client: TestClient) -> None:
    keep, gone = create_tag(client, name="keep"), create_tag(client, name="gone")
    task = create_task(client, tag_ids=[keep["id"], gone["id"]])
    assert client.delete(f"/api/alice/tags/{gone['id']}", headers=auth()).status_code == 204
    after = client.get(f"/api/alice/tasks/{task['id']}", headers=auth()).json()
    assert [t["name"] for t in after["tags"]] == ["keep"]
    assert after["updated_at"] > task["updated_at"]
    assert_problem(client.get(f"/api/alice/tags/{gone['id']}", headers=auth()), 404)
    assert_problem(client.delete(f"/api/alice/tags/{gone['id']}", headers=auth()), 404)


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [("GET", "", None), ("PUT", "", {"name": "mine"}), ("PATCH", "", {"color": "#000000"}), ("DELETE", "", None)],
)
def test_another_users_tag_is_not_found_on_every_tag_operation(
    client: TestClient, method: str, suffix: str, body: Any
) -> None:
    theirs = create_tag(client, "bob", name="secret")
    missing = theirs["id"] + 1000
    for tag_id in (theirs["id"], missing):
        problem = assert_problem(
            client.request(method, f"/api/alice/tags/{tag_id}{suffix}", json=body, headers=auth()), 404
        )
        assert problem["detail"] == f"Tag {tag_id} not found"  # the same words for theirs and for none
    assert client.get(f"/api/bob/tags/{theirs['id']}", headers=auth("bob")).json() == theirs


def test_another_users_tags_are_forbidden_by_path(client: TestClient) -> None:
    create_tag(client, "bob")
    assert_problem(client.get("/api/bob/tags", headers=auth()), 403)
    assert_problem(client.post("/api/bob/tags", json={"name": "x"}, headers=auth()), 403)
