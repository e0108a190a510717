"""Every 400 says what is wrong and where, in sentences a form can show: no regex, no Python repr."""

from __future__ import annotations

import re
from typing import Any

import pytest
from starlette.testclient import TestClient

from handlers.core.violations import DATE_OR_DATE_TIME
from tests.support.helpers import assert_problem, auth, create_task
from tests.test_errors import BAD_BODIES

# What raw validator output looks like: a quoted repr, a regex, an escaped code point, a schema path.
NOT_PLAIN = re.compile(r"'|\\|\^|\$|\\u[0-9a-f]{4}|does not match|is not of type|Failed validating")

BAD_QUERIES = [
    "limit=0",
    "limit=501&offset=-1",
    "limit=1_0",
    "status=nope",
    "priority=critical",
    "sort=bogus",
    "overdue=maybe",
    "due_before=tomorrow",
    "stauts=pending",
    "q=a&q=b",
    "q=a&search=b",
    "q=%00",
    "tag_ids=0",
    "order=up",
]


def violations(response: Any) -> list[dict[str, str]]:
    problem = assert_problem(response, 400)
    errors: list[dict[str, str]] = problem["errors"]
    assert errors, problem
    for error in [problem, *errors]:
        assert not NOT_PLAIN.search(error["detail"]), error["detail"]
    for error in errors:
        assert set(error) in ({"detail", "pointer"}, {"detail", "parameter"}, {"detail"}), error
    return errors


def test_a_blank_title_names_the_field(client: TestClient) -> None:
    response = client.post("/api/alice/tasks", json={"title": "   "}, headers=auth())
    assert violations(response) == [{"detail": "title must not be blank", "pointer": "#/title"}]
    assert response.json()["detail"] == "title must not be blank"


def test_every_body_violation_is_listed(client: TestClient) -> None:
    body = {"title": "", "priority": "critical", "owner": "bob", "due_date": "tomorrow", "tags": ["a,b"]}
    errors = violations(client.post("/api/alice/tasks", json=body, headers=auth()))
    by_pointer = {error["pointer"]: error["detail"] for error in errors}
    assert by_pointer == {
        "#/title": "title must not be empty",
        "#/priority": "priority must be one of none, low, medium, high, urgent",
        "#/owner": "owner is not a field this operation accepts",
        "#/due_date": f"due_date must be {DATE_OR_DATE_TIME}",
        "#/tags/0": "tags[0] must not contain a comma",
    }


def test_a_missing_field_points_at_itself(client: TestClient) -> None:
    errors = violations(client.post("/api/alice/tasks", json={"description": "x"}, headers=auth()))
    assert errors == [{"detail": "title is required", "pointer": "#/title"}]


def test_every_parameter_violation_is_listed_by_name(client: TestClient) -> None:
    response = client.get("/api/alice/tasks?limit=0&offset=-1", headers=auth())
    assert violations(response) == [
        {"detail": "limit must be between 1 and 500", "parameter": "limit"},
        {"detail": "offset must be between 0 and 9223372036854775807", "parameter": "offset"},
    ]
    assert response.json()["detail"] == "limit must be between 1 and 500 (and 1 more problem, listed in errors)"


def test_an_unknown_parameter_is_named(client: TestClient) -> None:
    errors = violations(client.get("/api/alice/tasks?stauts=pending", headers=auth()))
    assert errors == [{"detail": "stauts is not a parameter of this operation", "parameter": "stauts"}]


def test_a_bad_path_id_is_a_parameter_violation(client: TestClient) -> None:
    create_task(client)
    errors = violations(client.get("/api/alice/tasks/abc", headers=auth()))
    assert errors == [
        {"detail": "id must be an integer (ASCII digits, optionally after a minus sign)", "parameter": "id"}
    ]


@pytest.mark.parametrize(("case", "body"), BAD_BODIES, ids=[c for c, _ in BAD_BODIES])
def test_no_body_violation_quotes_a_regex_or_a_repr(client: TestClient, case: str, body: Any) -> None:
    violations(client.post("/api/alice/tasks", json=body, headers=auth()))


@pytest.mark.parametrize("query", BAD_QUERIES)
def test_no_parameter_violation_quotes_a_regex_or_a_repr(client: TestClient, query: str) -> None:
    errors = violations(client.get(f"/api/alice/tasks?{query}", headers=auth()))
    assert all("parameter" in error for error in errors), errors


def test_handler_checks_say_where_too(client: TestClient) -> None:
    task = create_task(client)
    errors = violations(client.put(f"/api/alice/tasks/{task['id']}", json={"tag_ids": [999]}, headers=auth()))
    assert errors[0]["pointer"] == "#/tag_ids"
    errors = violations(client.get("/api/alice/tasks?sort=title,created&order=asc", headers=auth()))
    assert errors[0]["parameter"] == "order"


def test_an_instant_outside_the_storable_years_is_refused_by_the_contract(client: TestClient) -> None:
    """0001-01-01T00:00+01:20 is 0000-12-31 in UTC, which cannot be stored: the spec's pattern refuses it
    (the live fuzz found it schema-valid and refused), and the same day in UTC is accepted."""
    refused = client.post(
        "/api/alice/tasks", json={"title": "t", "due_date": "0001-01-01T00:00:00+01:20"}, headers=auth()
    )
    problem = assert_problem(refused, 400)
    assert problem["errors"][0]["pointer"] == "#/due_date"
    assert "within 0001-01-01 and 9999-12-31" in problem["errors"][0]["detail"]
    listed = client.get("/api/alice/tasks?due_before=9999-12-31T23:00:00-01:00", headers=auth())
    assert assert_problem(listed, 400)["errors"][0]["parameter"] == "due_before"
    ok = client.post("/api/alice/tasks", json={"title": "t", "due_date": "0001-01-01T00:00:00Z"}, headers=auth())
    assert ok.status_code == 201, ok.text
