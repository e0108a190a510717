"""The list's Phase II filters and the spellings frontends use for the same things: one table of queries
and the tasks each must return, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.support.helpers import assert_problem, auth, create_tag, create_task

PAST = (datetime.now(UTC) - timedelta(days=2)).isoformat()
SOON = (datetime.now(UTC) + timedelta(hours=1)).isoformat()


@pytest.fixture
def board(client: TestClient) -> dict[str, int]:
    """Tasks named for what sets them apart, created in this order."""
    work, home = create_tag(client, name="Work")["id"], create_tag(client, name="home")["id"]
    specs: dict[str, dict[str, Any]] = {
        "late": {"due_date": PAST, "category": "Work", "tag_ids": [work], "priority": "urgent"},
        "late-done": {"due_date": PAST, "completed": True, "category": "work", "priority": "none"},
        "remind": {"reminder_at": PAST, "tag_ids": [work, home], "due_date": "2030-01-01", "priority": "low"},
        "remind-later": {"reminder_at": "2031-01-01T00:00:00Z", "tag_ids": [home], "category": "home"},
        "plain": {"description": "groceries list", "priority": "high"},
    }
    ids = {title: create_task(client, title=title, **fields)["id"] for title, fields in specs.items()}
    ids.update(work=work, home=home)
    return ids


def titles(client: TestClient, query: str) -> list[str]:
    response = client.get(f"/api/alice/tasks?{query}", headers=auth())
    assert response.status_code == 200, response.text
    found = [t["title"] for t in response.json()]
    assert response.headers["X-Total-Count"] == str(len(found))  # counts the filtered set
    return found


NEWEST_FIRST = ["plain", "remind-later", "remind", "late-done", "late"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [("", NEWEST_FIRST),
     ("category=WORK", ["late-done", "late"]), ("category=%20home%20", ["remind-later"]),
     ("tag=work", ["remind", "late"]), ("tag=work,HOME", ["remind"]), ("tag=work,nosuch", []),
     ("tag_ids={work}", ["remind", "late"]), ("tag_ids={work}&tag_ids={home}", ["remind"]),
     ("tag_ids={work},{home}", ["remind"]),
     ("overdue=true", ["late"]), ("overdue=false", ["plain", "remind-later", "remind", "late-done"]),
     ("due_before=2029-12-31", ["late-done", "late"]), ("due_after=2029-12-31", ["remind"]),
     ("due_after=2030-01-01T00:00:00Z", []), ("reminder_before=" + SOON.replace("+", "%2B"), ["remind"]),
     ("reminder_before=2031-01-02", ["remind-later", "remind"]),
     ("priority=urgent", ["late"]), ("priority=none", ["late-done"]),
     ("q=GROCERIES", ["plain"]), ("search=groceries", ["plain"]),
     ("status=incomplete", ["plain", "remind-later", "remind", "late"]), ("status=completed", ["late-done"]),
     ("q=&status=&tag=&category=&search=", NEWEST_FIRST),
     ("sort=priority", ["late-done", "remind", "remind-later", "plain", "late"]),  # none < … < urgent
     ("sort=-priority", ["late", "plain", "remind-later", "remind", "late-done"]),
     ("sort_by=created_at&order=asc", NEWEST_FIRST[::-1]), ("sort=created_at&order=desc", NEWEST_FIRST),
     ("sort_by=updated_at", NEWEST_FIRST[::-1]), ("order=asc", NEWEST_FIRST[::-1]), ("order=desc", NEWEST_FIRST),
     ("sort_by=due_date&order=asc", ["late", "late-done", "remind", "remind-later", "plain"]),
     ("sort=due_date&order=desc", ["remind", "late-done", "late", "plain", "remind-later"]),
     ("tag=work&overdue=true&category=work", ["late"])],
)  # fmt: skip
def test_filters_and_aliases(client: TestClient, board: dict[str, int], query: str, expected: list[str]) -> None:
    assert titles(client, query.format(**board)) == expected


@pytest.mark.parametrize(
    "query",
    ["q=a&search=b", "sort=-created&order=asc", "sort=title,created&order=asc", "sort=created&sort_by=title",
     "overdue=maybe", "due_before=yesterday", "due_after=2026-13-01", "tag_ids=x", "tag_ids=1,x",
     "status=unknown", "priority=critical", "order=up", "sort_by=colour", "reminder_before=2026-01-01T00:00"],
)  # fmt: skip
def test_bad_filters_are_400(client: TestClient, query: str) -> None:
    assert_problem(client.get(f"/api/alice/tasks?{query}", headers=auth()), 400)


def test_links_keep_the_filters_given_and_the_defaults(client: TestClient, board: dict[str, int]) -> None:
    response = client.get("/api/alice/tasks?tag=home&search=&sort_by=created_at&order=asc&limit=1", headers=auth())
    assert response.headers["X-Total-Count"] == "2"
    link = response.headers["Link"]
    assert link.startswith("</api/alice/tasks?status=all&tag=home&sort_by=created_at&order=asc&limit=1&cursor=")
    assert link.endswith('>; rel="next"') and link.count("<") == 1
    following = client.get(response.headers["Link"].split(">")[0][1:], headers=auth())
    assert [t["title"] for t in following.json()] == ["remind-later"]


@pytest.mark.parametrize(
    ("query", "total"),
    [("tag_ids={work}", "2"), ("tag_ids={home}", "2"), ("tag=work", "2"), ("tag_ids={work}&status=pending", "2"),
     ("tag_ids={work}&overdue=true", "1"), ("tag_ids={work},{home}", "1")],
)  # fmt: skip
def test_full_pages_count_the_filtered_set(client: TestClient, board: dict[str, int], query: str, total: str) -> None:
    response = client.get(f"/api/alice/tasks?{query.format(**board)}&limit=1", headers=auth())
    assert (response.status_code, response.headers["X-Total-Count"]) == (200, total)


def test_another_users_tag_counts_nothing_on_a_full_page(client: TestClient, board: dict[str, int]) -> None:
    theirs = create_tag(client, "bob", name="secret")["id"]
    create_task(client, "bob", tag_ids=[theirs])
    # Past the end (offset 5): an empty page whose total must be counted.
    response = client.get(f"/api/alice/tasks?tag_ids={theirs}&limit=1&offset=5", headers=auth())
    assert (response.json(), response.headers["X-Total-Count"]) == ([], "0")
