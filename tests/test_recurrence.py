"""Recurring tasks: completing one creates its next occurrence in the same transaction, exactly once."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.support.helpers import assert_problem, auth, create_tag, create_task


def complete(client: TestClient, task: dict[str, Any], how: str = "toggle") -> dict[str, Any]:
    url = f"/api/alice/tasks/{task['id']}"
    if how == "toggle":
        response = client.patch(f"{url}/complete", headers=auth())
    elif how == "set":
        response = client.patch(f"{url}/complete", json={"completed": True}, headers=auth())
    else:
        response = client.request(how, url, json={"completed": True}, headers=auth())
    assert response.status_code == 200, response.text
    done: dict[str, Any] = response.json()
    return done


def get(client: TestClient, task_id: int) -> dict[str, Any]:
    response = client.get(f"/api/alice/tasks/{task_id}", headers=auth())
    assert response.status_code == 200, response.text
    task: dict[str, Any] = response.json()
    return task


@pytest.mark.parametrize("how", ["toggle", "set", "PUT", "PATCH"])
def test_completing_creates_the_next_occurrence_with_the_same_fields(client: TestClient, how: str) -> None:
    tag = create_tag(client, name="chores")
    task = create_task(
        client, title="Bins", description="out", priority="high", category="home", tag_ids=[tag["id"]],
        recurrence_rule="RRULE:FREQ=WEEKLY", due_date="2027-01-28", reminder_at="2027-01-27T18:00:00Z",
    )  # fmt: skip
    assert task["recurrence_rule"] == "FREQ=WEEKLY"
    done = complete(client, task, how)
    assert done["completed"] is True
    assert done["next_occurrence_id"] is not None
    following = get(client, done["next_occurrence_id"])
    kept = ("title", "description", "priority", "category", "recurrence_rule", "tags")
    assert {k: following[k] for k in kept} == {k: task[k] for k in kept}
    assert (following["completed"], following["next_occurrence_id"]) == (False, None)
    assert following["due_date"] == "2027-02-04T00:00:00+00:00"
    assert following["reminder_at"] == "2027-02-03T18:00:00+00:00"  # shifted by the same week
    assert len(client.get("/api/alice/tasks", headers=auth()).json()) == 2


def test_monthly_from_the_31st_skips_short_months_and_the_series_keeps_its_day(client: TestClient) -> None:
    task = create_task(client, title="rent", recurrence_rule="monthly", due_date="2027-01-31T10:00:00Z")
    second = get(client, complete(client, task)["next_occurrence_id"])
    assert second["due_date"] == "2027-03-31T10:00:00+00:00"
    third = get(client, complete(client, second)["next_occurrence_id"])
    assert third["due_date"] == "2027-05-31T10:00:00+00:00"


def test_without_a_due_date_the_next_one_follows_the_completion(client: TestClient) -> None:
    task = create_task(client, recurrence_rule="daily")
    done = complete(client, task)
    following = get(client, done["next_occurrence_id"])
    assert following["due_date"] > done["completed_at"]


def test_exactly_one_next_occurrence_ever(client: TestClient) -> None:
    task = create_task(client, recurrence_rule="daily", due_date="2027-01-01")
    first = complete(client, task)["next_occurrence_id"]
    assert complete(client, task)["completed"] is False  # un-completed: the next one stays
    again = complete(client, task)
    assert again["next_occurrence_id"] == first
    assert complete(client, task, "set")["next_occurrence_id"] == first  # completing a completed task
    assert len(client.get("/api/alice/tasks", headers=auth()).json()) == 2


@pytest.mark.parametrize(
    ("rule", "due"),
    [("FREQ=DAILY;COUNT=1", "2027-01-01"), ("FREQ=DAILY;UNTIL=20270101T235959Z", "2027-01-01")],
)
def test_a_rule_that_has_run_out_creates_none(client: TestClient, rule: str, due: str) -> None:
    task = create_task(client, recurrence_rule=rule, due_date=due)
    assert complete(client, task)["next_occurrence_id"] is None
    assert len(client.get("/api/alice/tasks", headers=auth()).json()) == 1


def test_count_counts_from_the_series_start(client: TestClient) -> None:
    task = create_task(client, recurrence_rule="FREQ=DAILY;COUNT=3", due_date="2027-01-01")
    chain = [task]
    while (next_id := complete(client, chain[-1])["next_occurrence_id"]) is not None:
        chain.append(get(client, next_id))
    assert [t["due_date"][:10] for t in chain] == ["2027-01-01", "2027-01-02", "2027-01-03"]


def test_creating_a_completed_recurring_task_creates_its_next_one(client: TestClient) -> None:
    task = create_task(client, recurrence_rule="yearly", due_date="2027-02-28", completed=True)
    assert get(client, task["next_occurrence_id"])["due_date"] == "2028-02-28T00:00:00+00:00"


def test_the_write_log_says_which_task_was_created(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    task = create_task(client, recurrence_rule="daily")
    with caplog.at_level(logging.INFO):
        next_id = complete(client, task)["next_occurrence_id"]
    [record] = [r for r in caplog.records if r.getMessage() == "next occurrence created"]
    assert (record.task_id, record.next_task_id) == (task["id"], next_id)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "rule", ["every day", "FREQ=SECONDLY", "FREQ=DAILY;INTERVAL=0", "freq=daily", "FREQ=DAILY;BYHOUR=3", 7]
)
def test_an_invalid_rule_is_400_naming_the_field(client: TestClient, rule: Any) -> None:
    response = client.post("/api/alice/tasks", json={"title": "x", "recurrence_rule": rule}, headers=auth())
    problem = assert_problem(response, 400)
    pointers = [error.get("pointer") for error in problem.get("errors", [])]
    assert "recurrence_rule" in problem["detail"] or "#/recurrence_rule" in pointers, problem
    assert client.get("/api/alice/tasks", headers=auth()).json() == []


def test_clearing_the_rule_stops_the_series(client: TestClient) -> None:
    task = create_task(client, recurrence_rule="daily")
    client.patch(f"/api/alice/tasks/{task['id']}", json={"recurrence_rule": None}, headers=auth())
    assert complete(client, task)["next_occurrence_id"] is None
