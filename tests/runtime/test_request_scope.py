"""Guards for `handlers/runtime/request_scope.py`: Connexion still leaves the operationId and the token's
`sub` where the metrics and rate-limit middleware read them (they would silently say "none" / not limit)."""

from __future__ import annotations

from starlette.testclient import TestClient

from handlers.core import metrics
from tests.support.helpers import auth


def count(operation: str, status: str) -> float:
    value: float = metrics.REQUESTS.labels(operation, status)._value.get()
    return value


def test_the_outermost_layer_sees_the_routed_operation(client: TestClient) -> None:
    before = count("listTasks", "2xx"), count("none", "4xx")
    assert client.get("/api/alice/tasks", headers=auth("alice")).status_code == 200
    assert client.get("/api/no/such/route/here").status_code == 404
    assert (count("listTasks", "2xx"), count("none", "4xx")) == (before[0] + 1, before[1] + 1)


def test_the_layer_after_security_sees_the_tokens_user(client: TestClient) -> None:
    response = client.get("/api/alice/tasks", headers=auth("alice"))
    assert response.headers["RateLimit-Limit"] == "1200"  # limited, so the user was found
