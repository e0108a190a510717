"""CORS preflights answered like every other response (`handlers/runtime/cors.py` relies on Starlette's
`CORSMiddleware.preflight_response` returning its refusal as a 400 whose body names what is refused)."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from handlers.app import EXPOSED_HEADERS
from tests.support.helpers import assert_problem, auth

ALLOWED = "http://localhost:3000"


def preflight(client: TestClient, origin: str, method: str = "POST") -> Any:
    headers = {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "authorization",
    }
    return client.options("/api/alice/tasks", headers={**headers, "X-Request-ID": "preflight-1"})


def test_a_preflight_carries_the_same_headers_as_other_responses(client: TestClient) -> None:
    response = preflight(client, ALLOWED)
    assert response.status_code == 200
    headers = response.headers
    assert headers["access-control-allow-origin"] == ALLOWED
    assert headers["x-request-id"] == "preflight-1"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["cache-control"] == "no-store"


def test_a_refused_preflight_is_a_problem(client: TestClient) -> None:
    response = preflight(client, "https://evil.example")
    problem = assert_problem(response, 400)
    assert problem["detail"].startswith("This cross-origin request is refused: its origin is not allowed")
    assert response.headers["x-request-id"] == "preflight-1"
    assert "access-control-allow-origin" not in response.headers
    both = preflight(client, "https://evil.example", method="TRACE")
    assert "its origin and method are not allowed" in assert_problem(both, 400)["detail"]


def test_cross_origin_javascript_may_read_the_auth_challenge_and_paging_headers(client: TestClient) -> None:
    response = client.get("/api/alice/tasks", headers={"Origin": ALLOWED})
    assert response.status_code == 401
    exposed = {h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")}
    assert {"www-authenticate", "x-total-count", "link", "location", "x-request-id", "etag"} <= exposed
    assert {h.lower() for h in EXPOSED_HEADERS} == exposed
    ok = client.get("/api/alice/tasks", headers={"Origin": ALLOWED, **auth()})
    assert ok.headers["access-control-allow-origin"] == ALLOWED
