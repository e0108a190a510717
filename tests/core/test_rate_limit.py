"""Per-user rate limits: headers, 429s, the two limits, turning them off, and failed tokens by address.
Shared counters in a real Redis, and a Redis that stops, are in test_rate_limit_redis.py."""

from __future__ import annotations

import dataclasses

import pytest
from starlette.testclient import TestClient

from handlers.app import create_app
from handlers.core.config import ConfigError, Settings, load_settings
from tests.support.helpers import SECRET, assert_problem, auth


@pytest.fixture
def limited(settings: Settings, engine: object) -> TestClient:
    limits = dataclasses.replace(settings, rate_limit_read="3/minute", rate_limit_write="2/minute")
    with TestClient(create_app(limits), raise_server_exceptions=False) as client:
        yield client


def test_a_user_over_the_read_limit_gets_429_with_ratelimit_headers(limited: TestClient) -> None:
    remaining = []
    for _ in range(3):
        response = limited.get("/api/alice/tasks", headers=auth("alice"))
        assert response.status_code == 200
        assert response.headers["RateLimit-Limit"] == "3"
        assert 0 <= int(response.headers["RateLimit-Reset"]) <= 60
        remaining.append(response.headers["RateLimit-Remaining"])
    assert remaining == ["2", "1", "0"]
    response = limited.get("/api/alice/tasks", headers=auth("alice"))
    problem = assert_problem(response, 429)
    assert problem["title"] == "Too Many Requests"
    assert response.headers["RateLimit-Remaining"] == "0"
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert limited.get("/api/bob/tasks", headers=auth("bob")).status_code == 200  # per user
    assert limited.get("/api/health").status_code == 200  # no token, no limit


def test_writes_have_their_own_limit_and_a_refused_write_changes_nothing(limited: TestClient) -> None:
    for _ in range(2):
        assert limited.post("/api/alice/tasks", json={"title": "t"}, headers=auth("alice")).status_code == 201
    refused = limited.post("/api/alice/tasks", json={"title": "t"}, headers=auth("alice"))
    assert_problem(refused, 429)
    listed = limited.get("/api/alice/tasks", headers=auth("alice"))  # reads still have their budget
    assert listed.status_code == 200
    assert len(listed.json()) == 2


def test_the_limit_is_checked_after_the_token_and_the_user(limited: TestClient) -> None:
    for _ in range(3):
        assert limited.get("/api/alice/tasks", headers=auth("mallory")).status_code == 403
    # mallory's 403s counted against mallory, not alice
    assert limited.get("/api/alice/tasks", headers=auth("alice")).headers["RateLimit-Remaining"] == "2"


def test_failed_tokens_count_by_address_and_never_against_a_user(limited: TestClient) -> None:
    bad = {"Authorization": "Bearer not-a-token"}
    statuses = [limited.get("/api/alice/tasks", headers=bad).status_code for _ in range(5)]
    assert statuses == [401, 401, 401, 429, 429]
    assert limited.get("/api/alice/tasks", headers=auth("alice")).headers["RateLimit-Remaining"] == "2"


def test_cors_exposes_the_ratelimit_headers(limited: TestClient) -> None:
    response = limited.get("/api/alice/tasks", headers={**auth("alice"), "Origin": "http://localhost:3000"})
    exposed = {h.strip().lower() for h in response.headers["Access-Control-Expose-Headers"].split(",")}
    assert {"ratelimit-limit", "ratelimit-remaining", "ratelimit-reset", "retry-after"} <= exposed


def test_zero_or_empty_turns_a_limit_off(settings: Settings, engine: object) -> None:
    env = {"BETTER_AUTH_SECRET": SECRET, "RATE_LIMIT_READ": "0", "RATE_LIMIT_WRITE": ""}
    loaded = load_settings(env, dotenv=None)
    assert (loaded.rate_limit_read, loaded.rate_limit_write) == ("", "")
    off = dataclasses.replace(settings, rate_limit_read="", rate_limit_write="1/minute")
    with TestClient(create_app(off), raise_server_exceptions=False) as client:
        for _ in range(5):
            response = client.get("/api/alice/tasks", headers=auth("alice"))
            assert response.status_code == 200
            assert "RateLimit-Limit" not in response.headers


def test_defaults_are_generous_and_memory_backed() -> None:
    loaded = load_settings({"BETTER_AUTH_SECRET": SECRET}, dotenv=None)
    assert (loaded.rate_limit_read, loaded.rate_limit_write) == ("1200/minute", "300/minute")
    assert loaded.rate_limit_storage == "memory://"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("RATE_LIMIT_READ", "lots"),
        ("RATE_LIMIT_READ", "0/minute"),
        ("RATE_LIMIT_WRITE", "10/second;100/minute"),
        ("RATE_LIMIT_STORAGE", "memcached://127.0.0.1:11211"),
        ("RATE_LIMIT_STORAGE", "127.0.0.1:6379"),
    ],
)
def test_unusable_rate_limit_settings_are_one_error_line(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        load_settings({"BETTER_AUTH_SECRET": SECRET, name: value}, dotenv=None)
