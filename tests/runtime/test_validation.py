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


def test_remembered_parameter_verdicts_are_the_checked_ones() -> None:
    """A verdict is remembered per schema, parameter name, type and value: asked again, the answer is
    the same; another name, type or value of the same schema is checked on its own."""
    from handlers.runtime.validation import SchemaValidators

    schemas, schema = SchemaValidators(), {"type": "integer", "minimum": 1}
    for _ in range(2):
        assert schemas.parameter_problem(schema, 0, "limit") == "limit must be at least 1"
        assert schemas.parameter_problem(schema, 0, "offset") == "offset must be at least 1"
        assert schemas.parameter_problem(schema, 5, "limit") is None
        assert schemas.parameter_problem(schema, "5", "limit") == "limit must be an integer"
        assert schemas.parameter_problem(schema, True, "limit") == "limit must be an integer"
    long = {"type": "string", "maxLength": 300}
    assert schemas.parameter_problem(long, "x" * 301, "q") == "q must be at most 300 characters long"
    assert len(schemas._problems) == 5  # the long text was checked, not remembered


def test_a_bad_id_stays_bad_when_asked_again(client: TestClient) -> None:
    for _ in range(3):
        assert_problem(client.get("/api/alice/tasks/0", headers=auth()), 400)
    assert client.get("/api/alice/tasks/1", headers=auth()).status_code == 404
