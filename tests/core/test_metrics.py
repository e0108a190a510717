"""GET /metrics after known traffic: exact counts with --workers 2 (prometheus-client's multiprocess mode,
in a directory the server makes and removes), on a port of its own, or off."""

from __future__ import annotations

import http.client
import re
import signal
import time
import uuid
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from handlers.core.config import ConfigError, load_settings
from tests.runtime.test_serving import worker_pids
from tests.support.helpers import SECRET, auth
from tests.support.live import LiveServer, free_port, live_server


def scrape(server: LiveServer, port: int | None = None) -> dict[str, float]:
    """The samples of one scrape, `name{labels}` → value."""
    conn = http.client.HTTPConnection("127.0.0.1", port or server.port, timeout=10)
    try:
        conn.request("GET", "/metrics", headers={"Connection": "close"})
        response = conn.getresponse()
        assert response.status == 200
        text = response.read().decode()
    finally:
        conn.close()
    return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line[:1] != "#"}


def recording_pids(directory: Path) -> set[int]:
    return {int(m.group(1)) for f in directory.glob("counter_*.db") if (m := re.search(r"_(\d+)\.db$", f.name))}


def test_two_workers_report_the_traffic_of_both_exactly(database_url: str, tmp_path: Path) -> None:
    user = f"metrics-{uuid.uuid4().hex[:8]}"
    with live_server(database_url, tmp_path, workers=2, TMPDIR=str(tmp_path)) as server:
        deadline = time.monotonic() + 20
        while len(worker_pids(server)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        (directory,) = tmp_path.glob("taskapi-metrics-*")  # made by the server, before the workers started
        for i in range(6):
            assert server.request("POST", f"/api/{user}/tasks", {"title": f"t{i}"}, user)[0] == 201
        for _ in range(4):
            assert server.request("GET", f"/api/{user}/tasks", user=user)[0] == 200
        for _ in range(3):
            assert server.request("GET", f"/api/{user}/tasks", headers={"Authorization": "Bearer x"})[0] == 401
        health = 0
        while len(recording_pids(directory)) < 2 and health < 500:  # until both workers have answered
            assert server.request("GET", "/api/health")[0] == 200
            health += 1
        assert recording_pids(directory) <= set(worker_pids(server))
        for _ in range(4):  # whichever worker answers the scrape, it adds up both
            samples = scrape(server)
            assert samples['taskapi_requests_total{operation="createTask",status="2xx"}'] == 6
            assert samples['taskapi_requests_total{operation="listTasks",status="2xx"}'] == 4
            assert samples['taskapi_requests_total{operation="listTasks",status="4xx"}'] == 3
            assert samples.get('taskapi_requests_total{operation="getHealth",status="2xx"}', 0) == health
            assert samples['taskapi_request_duration_seconds_count{operation="createTask",status="2xx"}'] == 6
            assert (
                samples['taskapi_token_cache_lookups_total{result="hit"}']
                + samples['taskapi_token_cache_lookups_total{result="miss"}']
                == 6 + 4 + 3
            )
        # Live gauges: a worker decrements them just after its response went out, so allow it a moment.
        deadline = time.monotonic() + 5
        while (gauges := scrape(server))["taskapi_requests_in_flight"] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert gauges["taskapi_requests_in_flight"] == 0  # a scrape is not a request of the API
        assert gauges["taskapi_db_pool_checked_out"] == 0
        assert server.stop() in (0, -signal.SIGTERM)
    assert not directory.exists()  # removed when the server exited


@pytest.mark.parametrize("workers", [1, 2])
def test_metrics_port_moves_them_off_the_api_port(database_url: str, tmp_path: Path, workers: int) -> None:
    port = free_port()
    with live_server(database_url, tmp_path, workers, METRICS_PORT=str(port)) as server:
        assert server.request("GET", "/api/health")[0] == 200
        status, headers, _ = server.request("GET", "/metrics")
        assert status == 404
        assert headers["content-type"] == "application/problem+json"
        samples = scrape(server, port)
        assert samples['taskapi_requests_total{operation="getHealth",status="2xx"}'] == 1
        assert samples['taskapi_requests_total{operation="none",status="4xx"}'] == 1


def test_metrics_can_be_turned_off(database_url: str, tmp_path: Path) -> None:
    with live_server(database_url, tmp_path, METRICS_ENABLED="false") as server:
        assert server.request("GET", "/metrics")[0] == 404


def test_metrics_need_no_token_and_are_never_cached(client: TestClient) -> None:
    client.get("/api/alice/tasks", headers=auth("alice"))
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.headers["cache-control"] == "no-store"
    assert "taskapi_requests_total" in response.text


def test_metrics_settings() -> None:
    base = {"BETTER_AUTH_SECRET": SECRET}
    default = load_settings(base, dotenv=None)
    assert (default.metrics_enabled, default.metrics_port) == (True, None)
    moved = load_settings({**base, "METRICS_PORT": "9102", "METRICS_ENABLED": "false"}, dotenv=None)
    assert (moved.metrics_enabled, moved.metrics_port) == (False, 9102)
    for bad in ("70000", "nine"):
        with pytest.raises(ConfigError, match="METRICS_PORT"):
            load_settings({**base, "METRICS_PORT": bad}, dotenv=None)
