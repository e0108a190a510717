"""What the logs say about each write, in both formats, and what they never say: tokens, secrets, forged lines."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from handlers.app import create_app
from handlers.core.config import Settings
from tests.support.helpers import SECRET, assert_problem, auth, create_task, token
from tests.support.live import live_server


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


def test_credentials_in_urls_never_reach_the_logs(database_url: str, tmp_path: Path, engine: Engine) -> None:
    """uvicorn's access log wrote the whole URL: a token sent as a query parameter (a 401, rightly) was
    logged with it. Every line quoting a URL is checked, in both formats."""
    good = token("alice")
    encoded = good.replace(".", "%2E")
    named = "opaque-value-that-is-no-jwt-7f3a"
    targets = [
        f"/api/alice/tasks?access_token={good}",
        f"/api/alice/tasks?status=all&token={named}",
        f"/api/alice/tasks?id_token={named}&limit=5",
        f"/api/alice/tasks?%61ccess_token={named}",  # the name percent-encoded
        f"/api/alice/tasks?q={encoded}",
        f"/api/alice/tasks?limit={good}",  # quoted back by the 400's reason, which Connexion logs
        f"/api/{good}/tasks",
        f"/api/nowhere?jwt={good}",
    ]
    for log_format in ("text", "json"):
        with live_server(database_url, tmp_path, LOG_FORMAT=log_format) as server:
            for target in targets:
                for user in (None, "alice"):
                    status, _, _ = server.request("GET", target, user=user)
                    assert status < 500
            server.stop()
            log = server.log()
        assert "GET /api/alice/tasks?status=all&token=" in log  # the access log lines were written
        for secret in (good.split(".")[1], good.split(".")[2], named):
            assert secret not in log, log


@pytest.mark.parametrize(
    ("line", "kept"),
    [
        ('"GET /api/a/tasks?access_token=SECRETVALUE&limit=5 HTTP/1.1" 401', "limit=5 HTTP/1.1"),
        ("GET /api/a/tasks?Refresh-Token=SECRETVALUE", "Refresh-Token="),
        ("GET /x?api_key=SECRETVALUE;password=SECRETVALUE", "/x?api_key="),
        ("GET /x?%74oken=SECRETVALUE", "/x?%74oken="),
        ("value 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.SECRETVALUE' is bad", "is bad"),
        ("Bearer%20eyJhbGciOiJIUzI1NiJ9%2EeyJzdWIiOiJhIn0%2ESECRETVALUE", "Bearer%20"),
        ("unsigned eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0SECRETVALUE.", "unsigned "),
    ],
)
def test_redaction_of_credentials_in_a_line(line: str, kept: str) -> None:
    from handlers.core.redaction import redact

    redacted = redact(line)
    assert "SECRETVALUE" not in redacted
    assert kept in redacted


@pytest.mark.parametrize(
    "line",
    [
        '127.0.0.1:5000 - "GET /api/alice/tasks?status=all&q=x.y.z&limit=5 HTTP/1.1" 200',
        "10.10.10.10 handlers.core.problems v1.2.3 author=bob authored=x",
        "Started server process [123]",
    ],
)
def test_redaction_leaves_ordinary_lines_alone(line: str) -> None:
    from handlers.core.redaction import redact

    assert redact(line) == line
