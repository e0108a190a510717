"""Writes that run as their one statement (handlers/single_statement.py) decide exactly as the
transaction did: the user's row and claims, a reset database, tasks with a rule."""

from __future__ import annotations

from sqlalchemy import Engine, text
from starlette.testclient import TestClient

from tests.support.helpers import auth, create_task


def stored_user(engine: Engine) -> tuple[str | None, str | None]:
    with engine.connect() as conn:
        row = conn.execute(text("SELECT email, name FROM users WHERE id = 'alice'")).one()
    return row[0], row[1]


def post(client: TestClient, **claims: str) -> int:
    response = client.post("/api/alice/tasks", json={"title": "t"}, headers=auth(**claims))
    return response.status_code


def test_claims_that_change_still_reach_the_users_row(client: TestClient, engine: Engine) -> None:
    assert post(client, email="a@example.com", name="A") == 201
    assert post(client, email="a@example.com", name="A") == 201  # the INSERT alone
    assert post(client, email="b@example.com", name="B") == 201  # new claims: the upsert again
    assert stored_user(engine) == ("b@example.com", "B")


def test_a_users_row_gone_behind_the_apps_back_is_made_again(client: TestClient, engine: Engine) -> None:
    assert post(client) == 201
    with engine.begin() as conn:  # what a database reset under a running app looks like
        conn.execute(text("DELETE FROM tasks"))
        conn.execute(text("DELETE FROM users"))
    assert post(client) == 201
    assert stored_user(engine) == (None, None)


def test_a_missing_or_recurring_task_still_takes_the_transaction(client: TestClient) -> None:
    assert client.put("/api/alice/tasks/999", json={"title": "x"}, headers=auth()).status_code == 404
    task = create_task(client, recurrence_rule="daily", due_date="2027-01-31T09:00:00Z")
    done = client.put(f"/api/alice/tasks/{task['id']}", json={"completed": True}, headers=auth()).json()
    assert done["next_occurrence_id"] is not None
