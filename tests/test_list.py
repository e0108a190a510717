"""Listing: filters, sorting (same order on both databases), paging, X-Total-Count and Link."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.support.helpers import auth, create_task


def listed(client: TestClient, query: str = "", user: str = "alice") -> list[dict[str, Any]]:
    response = client.get(f"/api/{user}/tasks{query}", headers=auth(user))
    assert response.status_code == 200, response.text
    tasks: list[dict[str, Any]] = response.json()
    assert int(response.headers["X-Total-Count"]) >= len(tasks)
    return tasks


def titles(client: TestClient, query: str) -> list[str]:
    return [t["title"] for t in listed(client, query)]


@pytest.fixture
def mixed(client: TestClient) -> list[dict[str, Any]]:
    """Five tasks, created in this order, with mixed case, priorities, due dates and states."""
    return [
        create_task(client, title="banana", priority="low", due_date="2026-03-01T00:00:00Z"),
        create_task(client, title="Apple", priority="high", description="red fruit", completed=True),
        create_task(client, title="cherry", priority="medium", due_date="2026-01-01T00:00:00Z"),
        create_task(client, title="apple pie", priority="high", due_date="2026-02-01T00:00:00Z"),
        create_task(client, title="Date", priority="low", completed=True),
    ]


def test_list_is_a_bare_array_newest_first(client: TestClient, mixed: list[dict[str, Any]]) -> None:
    response = client.get("/api/alice/tasks", headers=auth())
    assert isinstance(response.json(), list)
    assert [t["id"] for t in response.json()] == [t["id"] for t in reversed(mixed)]
    assert response.headers["X-Total-Count"] == "5"
    assert "Link" not in response.headers


def test_empty_list(client: TestClient) -> None:
    response = client.get("/api/alice/tasks", headers=auth())
    assert response.json() == [] and response.headers["X-Total-Count"] == "0"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?status=pending", ["apple pie", "cherry", "banana"]),
        ("?status=completed", ["Date", "Apple"]),
        ("?status=all", ["Date", "apple pie", "cherry", "Apple", "banana"]),
        ("?priority=high", ["apple pie", "Apple"]),
        ("?priority=low&status=completed", ["Date"]),
        ("?q=APPLE", ["apple pie", "Apple"]),
        ("?q=fruit", ["Apple"]),  # description matches too
        ("?q=%25", []),  # LIKE wildcards are matched literally
        ("?q=_", []),
    ],
)
def test_filters(client: TestClient, mixed: list[dict[str, Any]], query: str, expected: list[str]) -> None:
    response = client.get(f"/api/alice/tasks{query}", headers=auth())
    assert [t["title"] for t in response.json()] == expected
    assert response.headers["X-Total-Count"] == str(len(expected))


def test_q_matches_literal_wildcards(client: TestClient) -> None:
    create_task(client, title="100% done")
    create_task(client, title="snake_case")
    create_task(client, title="plain")
    assert titles(client, "?q=%25") == ["100% done"]
    assert titles(client, "?q=e_c") == ["snake_case"]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("created", ["banana", "Apple", "cherry", "apple pie", "Date"]),
        ("-created", ["Date", "apple pie", "cherry", "Apple", "banana"]),
        ("title", ["Apple", "apple pie", "banana", "cherry", "Date"]),  # case-insensitive
        ("-title", ["Date", "cherry", "banana", "apple pie", "Apple"]),
        ("due_date", ["cherry", "apple pie", "banana", "Apple", "Date"]),  # no due date: last
        ("-due_date", ["banana", "apple pie", "cherry", "Date", "Apple"]),  # still last; ties by -id
        ("priority", ["banana", "Date", "cherry", "Apple", "apple pie"]),  # rank, ties by id
        ("-priority", ["apple pie", "Apple", "cherry", "Date", "banana"]),
        ("-priority,title", ["Apple", "apple pie", "cherry", "banana", "Date"]),
        ("priority,-due_date", ["banana", "Date", "cherry", "apple pie", "Apple"]),
        ("title,title", ["Apple", "apple pie", "banana", "cherry", "Date"]),  # repeats are harmless
    ],
)
def test_sort(client: TestClient, mixed: list[dict[str, Any]], sort: str, expected: list[str]) -> None:
    assert titles(client, f"?sort={sort}") == expected


def test_sort_by_updated(client: TestClient, mixed: list[dict[str, Any]]) -> None:
    client.put(f"/api/alice/tasks/{mixed[0]['id']}", json={"description": "touched"}, headers=auth())
    assert titles(client, "?sort=-updated")[0] == "banana"
    assert titles(client, "?sort=updated")[-1] == "banana"


def test_title_sort_folds_case_beyond_ascii(client: TestClient) -> None:
    for title in ["éclair", "Zebra", "Éclat", "apple"]:
        create_task(client, title=title)
    assert titles(client, "?sort=title") == ["apple", "Zebra", "éclair", "Éclat"]


def test_ties_are_broken_by_id_in_the_first_keys_direction(client: TestClient) -> None:
    ids = [create_task(client, title="same", priority="low")["id"] for _ in range(3)]
    assert [t["id"] for t in listed(client, "?sort=title")] == ids
    assert [t["id"] for t in listed(client, "?sort=-title")] == ids[::-1]
    assert [t["id"] for t in listed(client, "?sort=-priority,title")] == ids[::-1]


def test_paging_headers_and_links(client: TestClient) -> None:
    """With `offset` given, links page by offset (without it, by cursor: tests/test_list_cursor.py)."""
    for i in range(7):
        create_task(client, title=f"t{i}", priority="high")
    first = client.get("/api/alice/tasks?limit=3&offset=0&priority=high&sort=title", headers=auth())
    assert [t["title"] for t in first.json()] == ["t0", "t1", "t2"]
    assert first.headers["X-Total-Count"] == "7"
    assert first.headers["Link"] == (
        '</api/alice/tasks?status=all&priority=high&sort=title&limit=3&offset=3>; rel="next"'
    )
    middle = client.get("/api/alice/tasks?limit=3&offset=3&priority=high&sort=title", headers=auth())
    assert [t["title"] for t in middle.json()] == ["t3", "t4", "t5"]
    assert 'offset=6>; rel="next"' in middle.headers["Link"]
    assert 'offset=0>; rel="prev"' in middle.headers["Link"]
    last_url = middle.headers["Link"].split(";")[0].strip("<>")
    last = client.get(last_url, headers=auth())
    assert [t["title"] for t in last.json()] == ["t6"]
    assert last.headers["X-Total-Count"] == "7"
    assert 'rel="next"' not in last.headers["Link"] and 'rel="prev"' in last.headers["Link"]


def test_offset_past_the_end(client: TestClient) -> None:
    for i in range(2):
        create_task(client, title=f"t{i}")
    response = client.get("/api/alice/tasks?offset=10", headers=auth())
    assert response.json() == []
    assert response.headers["X-Total-Count"] == "2"
    assert 'offset=0>; rel="prev"' in response.headers["Link"]


def test_full_page_counts_all_matches(client: TestClient) -> None:
    for i in range(4):
        create_task(client, title=f"t{i}")
    response = client.get("/api/alice/tasks?limit=2", headers=auth())
    assert response.headers["X-Total-Count"] == "4"
    exact = client.get("/api/alice/tasks?limit=4", headers=auth())
    assert exact.headers["X-Total-Count"] == "4" and "Link" not in exact.headers


def test_list_shows_only_the_users_tasks(client: TestClient) -> None:
    create_task(client, "alice", title="mine")
    create_task(client, "bob", title="theirs")
    assert [t["title"] for t in listed(client, "", "alice")] == ["mine"]
    assert [t["title"] for t in listed(client, "?q=theirs", "alice")] == []


def test_q_folds_case_beyond_ascii(client: TestClient) -> None:
    create_task(client, title="Éclair au café")
    create_task(client, title="other", description="ΣΟΦΙΑ")
    assert titles(client, "?q=%C3%89CLAIR") == ["Éclair au café"]  # ÉCLAIR
    assert titles(client, "?q=%C3%A9clair") == ["Éclair au café"]  # éclair
    assert titles(client, "?q=CAF%C3%89") == ["Éclair au café"]  # CAFÉ
    assert titles(client, "?q=%CF%83%CE%BF%CF%86") == ["other"]  # σοφ
