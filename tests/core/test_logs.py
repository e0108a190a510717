"""What the logs say about each write, in both formats, and what they never say: tokens, secrets, forged lines."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from handlers.app import create_app
from handlers.core.config import Settings
from tests.support.helpers import SECRET, assert_problem, auth, create_task, token


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


def test_text_log_lines_cannot_be_forged() -> None:
    from handlers.core.logs import TextFormatter

    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "bad key %s", ("k\r\nFAKE ERROR line",), None)
    line = TextFormatter().format(record)
    assert "\n" not in line and "\r" not in line
    assert line.endswith("bad key k\\x0d\\x0aFAKE ERROR line")


def test_log_messages_are_bounded(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    from handlers.core.logs import MAX_MESSAGE_LENGTH, TextFormatter

    record = logging.LogRecord("x", logging.INFO, __file__, 1, "value %s", ("v" * 100_000,), None)
    assert len(TextFormatter().format(record)) < MAX_MESSAGE_LENGTH + 200
    caplog.set_level(logging.DEBUG)
    response = client.post("/api/alice/tasks", json={"title": "t" * 60_000}, headers=auth())
    assert_problem(response, 400)
    assert all("t" * 1000 not in r.getMessage() for r in caplog.records)


def test_no_token_or_secret_reaches_the_logs(
    settings: Settings, engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    # The app is made here, so that its log handler writes to the stream capsys captures.
    client = TestClient(create_app(settings), raise_server_exceptions=False)
    good = token("alice")
    sent = {
        "good": good,
        "bad signature": token("alice", secret="another-secret-" + "z" * 40),
        "expired": token("alice", ttl=-3600),
        "wrong algorithm": token("alice", algorithm="HS512"),
        "garbage": good[:-5] + "AAAAA",
    }
    for bearer in sent.values():
        headers = {"Authorization": f"Bearer {bearer}"}
        client.get("/api/alice/tasks", headers=headers)
        client.post("/api/alice/tasks", json={"title": "x"}, headers=headers)
        client.post("/api/alice/tasks", json={"title": 5}, headers=headers)  # a rejected body is logged
    client.get("/api/alice/tasks", headers={"Authorization": "Basic " + SECRET})
    logged = capsys.readouterr()
    log = logged.out + logged.err
    assert "task created" in log  # the lines were captured
    assert "No auth provided" in log  # so were the auth layer's
    assert SECRET not in log
    for bearer in sent.values():
        assert bearer.split(".")[2] not in log  # neither the token nor its signature
