"""How bodies and parameters arrive: sizes, content types, chunking, duplicates and odd digits."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text
from starlette.testclient import TestClient

from tests.helpers import assert_problem, auth, create_task

JSON = {"Content-Type": "application/json"}


def count_tasks(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM tasks")).scalar_one())


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/alice/tasks", b'{"title": "x"}'),
        ("PUT", "/api/alice/tasks/{id}", b'{"title": "x"}'),
        ("PATCH", "/api/alice/tasks/{id}/complete", b'{"completed": true}'),
    ],
)
def test_a_body_without_content_type_is_415(
    client: TestClient, engine: Engine, method: str, path: str, body: bytes
) -> None:
    task = create_task(client, title="unchanged")
    response = client.request(method, path.format(id=task["id"]), content=body, headers=auth())
    assert_problem(response, 415)
    assert count_tasks(engine) == 1
    assert client.get(f"/api/alice/tasks/{task['id']}", headers=auth()).json() == task


def test_bodies_over_64_kib_are_413(client: TestClient, engine: Engine) -> None:
    body = b'{"title": "x", "description": "' + b"d" * 70_000 + b'"}'
    assert_problem(client.post("/api/alice/tasks", content=body, headers={**auth(), **JSON}), 413)
    assert count_tasks(engine) == 0


def test_body_limit_comes_after_the_token_check(client: TestClient) -> None:
    body = b"x" * 70_000
    assert_problem(client.post("/api/alice/tasks", content=body, headers=JSON), 401)
    assert_problem(client.post("/api/bob/tasks", content=body, headers={**auth(), **JSON}), 403)


def test_chunked_bodies_are_read(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"title": '
        yield b'"chunked"}'

    response = client.post("/api/alice/tasks", content=chunks(), headers={**auth(), **JSON})
    assert response.status_code == 201, response.text
    assert response.json()["title"] == "chunked"


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


def test_health_rejects_parameters_it_does_not_have(client: TestClient) -> None:
    assert_problem(client.get("/api/health?verbose=1"), 400)


def test_unexpected_errors_are_generic_problems(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from models import queries

    def broken(*_args: object) -> None:
        raise RuntimeError("SELECT password FROM secrets WHERE token = 'abc'")

    monkeypatch.setattr(queries, "get_task", broken)
    response = client.get("/api/alice/tasks/1", headers=auth())
    problem = assert_problem(response, 500)
    assert problem["detail"] == "An unexpected error occurred; it has been logged"
    for leak in ("SELECT", "password", "RuntimeError", "Traceback", "abc"):
        assert leak not in response.text
