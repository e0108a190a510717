"""Parameters validated as the spec means them: ASCII digits only, each parameter once."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.support.helpers import assert_problem, auth, create_task


@pytest.mark.parametrize("task_id", ["+1", "%201", "1_0", "%D9%A1", "%EF%BC%91", "1%20"])
def test_ids_must_be_ascii_digits(client: TestClient, task_id: str) -> None:
    create_task(client)
    assert_problem(client.get(f"/api/alice/tasks/{task_id}", headers=auth()), 400)


@pytest.mark.parametrize("query", ["limit=1_0", "limit=%2B5", "offset=%D9%A1", "limit=1&limit=2", "q=a&q=b"])
def test_query_integers_are_strict_and_parameters_single(client: TestClient, query: str) -> None:
    assert_problem(client.get(f"/api/alice/tasks?{query}", headers=auth()), 400)


def test_leading_zeros_are_still_the_number(client: TestClient) -> None:
    task = create_task(client)
    assert client.get(f"/api/alice/tasks/000{task['id']}", headers=auth()).json() == task
