"""GET /api/health: up, down, and nothing but what it declares."""

from __future__ import annotations

import socket

from starlette.testclient import TestClient

from handlers.app import create_app
from handlers.core.config import Settings
from tests.support.helpers import SECRET, assert_problem, auth


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_database_is_503_with_retry_after() -> None:
    url = f"postgresql://postgres@127.0.0.1:{closed_port()}/nothing"
    settings = Settings(better_auth_secret=SECRET, database_url=url, db_connect_timeout=2)
    with TestClient(create_app(settings)) as client:
        health = client.get("/api/health")
        assert_problem(health, 503)
        assert health.headers["Retry-After"].isdigit()
        tasks = client.get("/api/alice/tasks", headers=auth())
        assert_problem(tasks, 503)
        assert "127.0.0.1" not in tasks.text and "psycopg2" not in tasks.text


def test_health(client: TestClient) -> None:
    response = client.get("/api/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_health_rejects_parameters_it_does_not_have(client: TestClient) -> None:
    assert_problem(client.get("/api/health?verbose=1"), 400)
