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


def test_a_parameter_listed_twice_is_reported_once() -> None:
    """Connexion appends a path's parameters to an operation's own list in place, once per middleware
    that builds the operation: the validator sees them several times, and must report each once."""
    from connexion.uri_parsing import OpenAPIURIParser

    from handlers.core.problems import InvalidRequest
    from handlers.runtime.validation import validator_map

    task_id = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}
    validator = validator_map()["parameter"](
        [task_id, task_id, task_id], uri_parser=OpenAPIURIParser([task_id], {}), strict_validation=True
    )
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/t/0",
        "query_string": b"",
        "headers": [],
        "path_params": {"id": "0"},
    }
    with pytest.raises(InvalidRequest) as raised:
        validator.validate(scope)
    assert raised.value.ext["errors"] == [{"detail": "id must be at least 1", "parameter": "id"}]
