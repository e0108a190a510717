"""Health when the database is away, and what the logs say (and never say)."""

from __future__ import annotations

import logging
import socket

import pytest
from starlette.testclient import TestClient

from handlers.app import create_app
from handlers.config import Settings
from tests.helpers import SECRET, assert_problem, auth, create_task, token


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


def test_writes_are_logged_with_ids_and_tokens_never_are(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    headers = {**auth(), "X-Request-ID": "req-42"}
    task = client.post("/api/alice/tasks", json={"title": "x"}, headers=headers).json()
    client.put(f"/api/alice/tasks/{task['id']}", json={"title": "y"}, headers=headers)
    client.patch(f"/api/alice/tasks/{task['id']}/complete", headers=headers)
    client.delete(f"/api/alice/tasks/{task['id']}", headers=headers)
    client.get("/api/alice/tasks", headers={"Authorization": "Bearer " + token(secret="wrong-" + "w" * 40)})
    writes = [r for r in caplog.records if r.name == "handlers.tasks"]
    assert [r.getMessage() for r in writes] == [
        "task created", "task updated", "task completion toggled", "task deleted",
    ]  # fmt: skip
    for record in writes:
        assert (record.user_id, record.task_id, record.request_id) == ("alice", task["id"], "req-42")  # type: ignore[attr-defined]
    everything = caplog.text + " ".join(str(vars(r)) for r in caplog.records)
    assert SECRET not in everything
    assert headers["Authorization"].split()[1] not in everything
    assert "Bearer" not in everything


def test_json_log_lines(capsys: pytest.CaptureFixture[str], database_url: str, engine: object) -> None:
    settings = Settings(better_auth_secret=SECRET, database_url=database_url, log_format="json")
    with TestClient(create_app(settings)) as client:
        create_task(client)
    import json

    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    created = next(line for line in lines if line["message"] == "task created")
    assert created["user_id"] == "alice" and created["level"] == "INFO" and len(created["request_id"]) == 32


def test_postgres_url_options_reach_the_driver(database_url: str) -> None:
    """Neon URLs carry `sslmode=require`; it must reach libpq. This server has no TLS, so requiring it
    fails (503) while `prefer` connects: proof the option is passed, not dropped."""
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only")
    for sslmode, status in (("require", 503), ("prefer", 200)):
        settings = Settings(better_auth_secret=SECRET, database_url=f"{database_url}?sslmode={sslmode}")
        with TestClient(create_app(settings)) as client:
            assert client.get("/api/health").status_code == status


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@h/db?sslmode=require", "postgresql+psycopg2://u:p@h/db?sslmode=require"),
        ("postgresql://u@h/db", "postgresql+psycopg2://u@h/db"),
        ("postgresql+psycopg2://u@h/db", "postgresql+psycopg2://u@h/db"),
        ("sqlite:///./todo.db", "sqlite:///./todo.db"),
    ],
)
def test_database_urls_are_normalized_for_psycopg2(given: str, expected: str) -> None:
    from models.db import normalize_url

    assert normalize_url(given) == expected


def test_text_log_lines_cannot_be_forged() -> None:
    from handlers.logs import TextFormatter

    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "bad key %s", ("k\r\nFAKE ERROR line",), None)
    line = TextFormatter().format(record)
    assert "\n" not in line and "\r" not in line
    assert line.endswith("bad key k\\x0d\\x0aFAKE ERROR line")


def test_log_messages_are_bounded(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    from handlers.logs import MAX_MESSAGE_LENGTH, TextFormatter

    record = logging.LogRecord("x", logging.INFO, __file__, 1, "value %s", ("v" * 100_000,), None)
    assert len(TextFormatter().format(record)) < MAX_MESSAGE_LENGTH + 200
    caplog.set_level(logging.DEBUG)
    response = client.post("/api/alice/tasks", json={"title": "t" * 60_000}, headers=auth())
    assert_problem(response, 400)
    assert all("t" * 1000 not in r.getMessage() for r in caplog.records)
