"""The limit shared through a real Redis (Debian's redis-server, started per test on a free port) by two
server processes, and a Redis that stops or stalls mid-run: the service keeps serving, unlimited, with
one WARNING per interval and a metric."""

from __future__ import annotations

import dataclasses
import logging
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from handlers.app import create_app
from handlers.core import metrics, rate_limits
from handlers.core.config import Settings
from tests.runtime.test_serving import worker_pids
from tests.support.helpers import auth
from tests.support.live import live_server
from tests.support.redis_server import RedisServer, redis_server


def test_two_server_processes_share_one_limit_through_redis(database_url: str, tmp_path: Path) -> None:
    user = f"shared-{uuid.uuid4().hex[:8]}"
    limit = {"RATE_LIMIT_WRITE": "10/minute"}
    with (
        redis_server() as redis,
        live_server(database_url, tmp_path, RATE_LIMIT_STORAGE=redis.url, **limit) as first,
        live_server(database_url, tmp_path, RATE_LIMIT_STORAGE=redis.url, **limit) as second,
    ):
        statuses = Counter(
            server.request("POST", f"/api/{user}/tasks", {"title": "t"}, user)[0]
            for _ in range(8)
            for server in (first, second)
        )
    assert statuses == {201: 10, 429: 6}  # each process alone would have allowed 8


def test_two_workers_of_one_server_share_one_limit_through_redis(database_url: str, tmp_path: Path) -> None:
    user = f"workers-{uuid.uuid4().hex[:8]}"
    env = {"RATE_LIMIT_WRITE": "10/minute", "TMPDIR": str(tmp_path)}
    with redis_server() as redis, live_server(database_url, tmp_path, 2, RATE_LIMIT_STORAGE=redis.url, **env) as server:
        deadline = time.monotonic() + 20
        while len(worker_pids(server)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(worker_pids(server)) == 2
        statuses = Counter(server.request("POST", f"/api/{user}/tasks", {"title": "t"}, user)[0] for _ in range(16))
    assert statuses == {201: 10, 429: 6}  # however the connections were spread over the workers


def test_without_redis_each_process_counts_alone(database_url: str, tmp_path: Path) -> None:
    """The control for the test above: memory:// is one process's count."""
    user = f"apart-{uuid.uuid4().hex[:8]}"
    limit = {"RATE_LIMIT_WRITE": "10/minute"}
    with (
        live_server(database_url, tmp_path, **limit) as first,
        live_server(database_url, tmp_path, **limit) as second,
    ):
        statuses = Counter(
            server.request("POST", f"/api/{user}/tasks", {"title": "t"}, user)[0]
            for _ in range(8)
            for server in (first, second)
        )
    assert statuses == {201: 16}


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    with redis_server() as server:
        yield server


@pytest.fixture
def client(settings: Settings, engine: object, redis: RedisServer) -> Iterator[TestClient]:
    """Made before the test body runs, so that pytest's log capture is installed after the app's logging."""
    limited = dataclasses.replace(settings, rate_limit_read="100/minute", rate_limit_storage=redis.url)
    with TestClient(create_app(limited), raise_server_exceptions=False) as client:
        yield client


def test_a_redis_that_stops_mid_run_leaves_the_service_serving(
    client: TestClient, redis: RedisServer, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rate_limits, "RETRY_SECONDS", 1.0)
    errors_before = metrics.RATE_LIMIT_STORAGE_ERRORS._value.get()
    assert client.get("/api/alice/tasks", headers=auth("alice")).headers["RateLimit-Remaining"] == "99"
    redis.stop()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="handlers.core.rate_limits"):
        for _ in range(20):
            response = client.get("/api/alice/tasks", headers=auth("alice"))
            assert response.status_code == 200
            assert "RateLimit-Limit" not in response.headers  # unlimited while it is down
    warnings = [r for r in caplog.records if "rate-limit storage" in r.getMessage()]
    assert len(warnings) == 1  # one per interval, not one per request
    assert metrics.RATE_LIMIT_STORAGE_ERRORS._value.get() == errors_before + 1
    redis.start()  # the same port again, empty
    time.sleep(1.1)
    response = client.get("/api/alice/tasks", headers=auth("alice"))
    assert response.headers["RateLimit-Remaining"] == "99"  # counting again


def test_a_stalled_redis_costs_a_request_at_most_its_timeout(client: TestClient, redis: RedisServer) -> None:
    assert client.get("/api/alice/tasks", headers=auth("alice")).status_code == 200
    redis.pause()
    started = time.monotonic()
    response = client.get("/api/alice/tasks", headers=auth("alice"))
    waited = time.monotonic() - started
    assert response.status_code == 200
    assert waited < rate_limits.REDIS_TIMEOUT_SECONDS * 4, waited
    started = time.monotonic()
    assert client.get("/api/alice/tasks", headers=auth("alice")).status_code == 200
    assert time.monotonic() - started < rate_limits.REDIS_TIMEOUT_SECONDS  # not asked again meanwhile
