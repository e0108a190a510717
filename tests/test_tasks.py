"""Success paths of every endpoint, and what each write does to the stored task."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import Engine, text
from starlette.testclient import TestClient

from tests.support.helpers import assert_problem, auth, create_task

TASK_KEYS = {
    "id", "user_id", "title", "description", "completed", "priority", "category", "tags", "due_date",
    "reminder_at", "recurrence_rule", "next_occurrence_id", "client_id", "version", "completed_at", "created_at",
    "updated_at",
}  # fmt: skip


def parse(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    assert moment.utcoffset() is not None and moment.utcoffset().total_seconds() == 0, value  # type: ignore[union-attr]
    return moment


def test_create_returns_the_task_with_defaults_and_location(client: TestClient) -> None:
    response = client.post("/api/alice/tasks", json={"title": "  Buy milk \n"}, headers=auth())
    assert response.status_code == 201
    task = response.json()
    assert set(task) == TASK_KEYS
    assert task["title"] == "Buy milk"  # surrounding white space stripped
    assert task["user_id"] == "alice"
    assert (task["description"], task["completed"], task["priority"]) == (None, False, "medium")
    assert (task["due_date"], task["completed_at"]) == (None, None)
    assert parse(task["created_at"]) == parse(task["updated_at"])
    assert response.headers["Location"] == f"/api/alice/tasks/{task['id']}"
    assert client.get(response.headers["Location"], headers=auth()).json() == task


def test_create_with_every_field(client: TestClient) -> None:
    body = {
        "title": "Report", "description": "Q4", "completed": True, "priority": "high",
        "due_date": "2026-12-01T17:00:00+02:00",
    }  # fmt: skip
    task = create_task(client, **body)
    assert (task["description"], task["completed"], task["priority"]) == ("Q4", True, "high")
    assert task["due_date"] == "2026-12-01T15:00:00+00:00"  # stored and returned in UTC
    assert task["completed_at"] is not None


def test_create_upserts_the_user_from_token_claims(client: TestClient, engine: Engine) -> None:
    client.post("/api/newbie/tasks", json={"title": "first"}, headers=auth("newbie", email="n@x.io", name="New"))
    client.post("/api/newbie/tasks", json={"title": "second"}, headers=auth("newbie", email="n2@x.io", name="New"))
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, email, name FROM users")).all()
    assert [tuple(r) for r in rows] == [("newbie", "n2@x.io", "New")]


def test_user_ids_with_special_characters_round_trip(client: TestClient) -> None:
    user = "user ü#?"
    response = client.post("/api/user%20%C3%BC%23%3F/tasks", json={"title": "x"}, headers=auth(user))
    assert response.status_code == 201, response.text
    assert response.json()["user_id"] == user
    assert response.headers["Location"] == "/api/user%20%C3%BC%23%3F/tasks/" + str(response.json()["id"])
    assert client.get(response.headers["Location"], headers=auth(user)).status_code == 200


def test_a_slash_in_a_user_id_cannot_be_routed(client: TestClient) -> None:
    # ASGI servers decode %2F before routing, so such an id spans two segments: a 404, never a 5xx.
    assert_problem(client.post("/api/a%2Fb/tasks", json={"title": "x"}, headers=auth("a/b")), 404)


def test_get_one(client: TestClient) -> None:
    task = create_task(client, title="Read")
    response = client.get(f"/api/alice/tasks/{task['id']}", headers=auth())
    assert response.status_code == 200
    assert response.json() == task


def test_put_changes_only_the_given_fields(client: TestClient) -> None:
    task = create_task(client, title="Old", description="keep", priority="low", due_date="2026-01-01T00:00:00Z")
    response = client.put(f"/api/alice/tasks/{task['id']}", json={"title": " New "}, headers=auth())
    assert response.status_code == 200
    updated = response.json()
    assert updated["title"] == "New"
    assert {k: updated[k] for k in ("description", "priority", "due_date", "completed")} == {
        "description": "keep", "priority": "low", "due_date": "2026-01-01T00:00:00+00:00", "completed": False,
    }  # fmt: skip
    assert parse(updated["updated_at"]) > parse(task["updated_at"])
    assert updated["created_at"] == task["created_at"]


def test_put_null_clears_description_and_due_date(client: TestClient) -> None:
    task = create_task(client, description="d", due_date="2026-01-01T00:00:00Z")
    response = client.put(
        f"/api/alice/tasks/{task['id']}", json={"description": None, "due_date": None}, headers=auth()
    )
    assert response.status_code == 200
    assert (response.json()["description"], response.json()["due_date"]) == (None, None)


def test_put_completed_sets_and_clears_completed_at(client: TestClient) -> None:
    task = create_task(client)
    done = client.put(f"/api/alice/tasks/{task['id']}", json={"completed": True}, headers=auth()).json()
    assert done["completed"] is True and done["completed_at"] is not None
    undone = client.put(f"/api/alice/tasks/{task['id']}", json={"completed": False}, headers=auth()).json()
    assert undone["completed"] is False and undone["completed_at"] is None


def test_patch_without_body_toggles(client: TestClient) -> None:
    task = create_task(client)
    url = f"/api/alice/tasks/{task['id']}/complete"
    first = client.patch(url, headers=auth())
    assert first.status_code == 200
    assert first.json()["completed"] is True and first.json()["completed_at"] is not None
    # Frontends often send a JSON content type with an empty body: still a toggle.
    second = client.patch(url, headers={**auth(), "Content-Type": "application/json"})
    assert second.status_code == 200
    assert second.json()["completed"] is False and second.json()["completed_at"] is None
    assert parse(second.json()["updated_at"]) > parse(first.json()["updated_at"])


def test_patch_with_body_sets_idempotently(client: TestClient) -> None:
    task = create_task(client)
    url = f"/api/alice/tasks/{task['id']}/complete"
    first = client.patch(url, json={"completed": True}, headers=auth()).json()
    again = client.patch(url, json={"completed": True}, headers=auth()).json()
    assert first["completed"] is again["completed"] is True
    assert again["completed_at"] == first["completed_at"]  # completing twice keeps the first time
    cleared = client.patch(url, json={"completed": False}, headers=auth()).json()
    assert cleared["completed"] is False and cleared["completed_at"] is None
    assert client.patch(url, json={"completed": False}, headers=auth()).json()["completed"] is False


def test_delete(client: TestClient) -> None:
    task = create_task(client)
    response = client.delete(f"/api/alice/tasks/{task['id']}", headers=auth())
    assert response.status_code == 204
    assert response.content == b""
    assert_problem(client.get(f"/api/alice/tasks/{task['id']}", headers=auth()), 404)
    assert_problem(client.delete(f"/api/alice/tasks/{task['id']}", headers=auth()), 404)


def test_ids_are_unique_and_increasing(client: TestClient) -> None:
    ids = [create_task(client, title=f"t{i}")["id"] for i in range(5)]
    assert ids == sorted(ids) and len(set(ids)) == 5


def test_deleting_a_user_cascades_to_tasks(client: TestClient, engine: Engine) -> None:
    create_task(client, "carol")
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM users WHERE id = 'carol'"))
        assert conn.execute(text("SELECT count(*) FROM tasks")).scalar_one() == 0


def test_response_headers(client: TestClient) -> None:
    response = client.get("/api/alice/tasks", headers={**auth(), "X-Request-ID": "abc-123"})
    assert response.headers["X-Request-ID"] == "abc-123"
    generated = client.get("/api/alice/tasks", headers={**auth(), "X-Request-ID": "bad id\twith spaces"})
    assert generated.headers["X-Request-ID"] != "bad id\twith spaces"
    assert len(generated.headers["X-Request-ID"]) == 32


def test_cors_preflight_and_exposed_headers(client: TestClient) -> None:
    origin = {"Origin": "http://localhost:3000"}
    preflight = client.options(
        "/api/alice/tasks",
        headers={**origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"},
    )
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    response = client.get("/api/alice/tasks", headers={**auth(), **origin})
    assert "X-Total-Count" in response.headers["Access-Control-Expose-Headers"]
    error = client.get("/api/bob/tasks", headers={**auth(), **origin})
    assert error.status_code == 403
    assert error.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    foreign = client.get("/api/alice/tasks", headers={**auth(), "Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in foreign.headers


def test_swagger_ui_and_spec_are_served(client: TestClient) -> None:
    assert client.get("/api/ui/").status_code == 200
    spec = client.get("/api/openapi.json").json()
    assert spec["openapi"] == "3.0.3"
    assert "/{user_id}/tasks/{id}/complete" in spec["paths"]


def test_ids_of_deleted_tasks_are_never_reused(client: TestClient) -> None:
    first = create_task(client)
    newest = create_task(client)
    client.delete(f"/api/alice/tasks/{newest['id']}", headers=auth())
    assert create_task(client)["id"] > newest["id"] > first["id"]


def test_patch_set_moves_updated_at(client: TestClient) -> None:
    task = create_task(client)
    done = client.patch(f"/api/alice/tasks/{task['id']}/complete", json={"completed": True}, headers=auth()).json()
    assert parse(done["updated_at"]) > parse(task["updated_at"])


def test_user_row_keeps_known_claims_when_a_token_lacks_them(client: TestClient, engine: Engine) -> None:
    client.post("/api/dora/tasks", json={"title": "a"}, headers=auth("dora", email="d@x.io", name="Dora"))
    client.post("/api/dora/tasks", json={"title": "b"}, headers=auth("dora"))
    with engine.connect() as conn:
        row = conn.execute(text("SELECT email, name FROM users WHERE id = 'dora'")).one()
    assert tuple(row) == ("d@x.io", "Dora")


def test_concurrent_toggles_each_flip_once(client: TestClient, engine: Engine) -> None:
    """Forty toggles at once: serialized by the database, they see alternating states."""
    from concurrent.futures import ThreadPoolExecutor

    from models import queries

    task = create_task(client)

    def toggle(_: int) -> bool:
        with engine.begin() as conn:
            row = queries.set_completed(conn, "alice", task["id"], None)
        assert row is not None
        return bool(row["completed"])

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(toggle, range(40)))
    assert results.count(True) == results.count(False) == 20
    final = client.get(f"/api/alice/tasks/{task['id']}", headers=auth()).json()
    assert final["completed"] is False and final["completed_at"] is None


@pytest.mark.parametrize("media_type", ["application/merge-patch+json", "application/json"])
def test_patch_is_a_merge_patch(client: TestClient, media_type: str) -> None:
    task = create_task(client, description="keep", category="work", due_date="2027-01-01")
    body = b'{"title": "renamed", "category": null}'
    headers = {**auth(), "Content-Type": media_type}
    response = client.patch(f"/api/alice/tasks/{task['id']}", content=body, headers=headers)
    assert response.status_code == 200, response.text
    patched = response.json()
    assert (patched["title"], patched["category"], patched["description"]) == ("renamed", None, "keep")
    assert patched["due_date"] == "2027-01-01T00:00:00+00:00"


@pytest.mark.parametrize("body", [None, {}])
def test_complete_with_no_body_or_an_empty_object_toggles(client: TestClient, body: Any) -> None:
    task = create_task(client)
    url = f"/api/alice/tasks/{task['id']}/complete"
    assert client.patch(url, json=body, headers=auth()).json()["completed"] is True
    assert client.patch(url, json=body, headers=auth()).json()["completed"] is False


@pytest.mark.parametrize(
    ("given", "stored"),
    [("2027-03-01", "2027-03-01T00:00:00+00:00"), ("2027-03-01T08:30:00-05:00", "2027-03-01T13:30:00+00:00")],
)
def test_dates_and_date_times_are_accepted_and_answered_as_date_times(
    client: TestClient, given: str, stored: str
) -> None:
    task = create_task(client, due_date=given, reminder_at=given)
    assert (task["due_date"], task["reminder_at"]) == (stored, stored)


@pytest.mark.parametrize("priority", ["none", "low", "medium", "high", "urgent"])
def test_every_priority_round_trips(client: TestClient, priority: str) -> None:
    assert create_task(client, priority=priority)["priority"] == priority


@pytest.mark.parametrize(
    "body",
    [{"title": "x", "category": "   "}, {"title": "x", "category": "c" * 51}, {"title": "x", "priority": "critical"},
     {"title": "x", "due_date": "2027-02-30"}, {"title": "x", "reminder_at": "tomorrow"},
     {"title": "x", "tags": ["a,b"]}, {"title": "x", "tag_ids": ["1"]}, {"title": "x", "next_occurrence_id": 1}],
)  # fmt: skip
def test_bad_phase_two_fields_are_400_and_change_nothing(client: TestClient, body: dict[str, Any]) -> None:
    assert_problem(client.post("/api/alice/tasks", json=body, headers=auth()), 400)
    assert client.get("/api/alice/tasks", headers=auth()).json() == []
