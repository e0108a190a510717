"""How bodies arrive: sizes, content types and chunking, checked after the token."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text
from starlette.testclient import TestClient

from tests.support.helpers import assert_problem, auth, create_task

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
