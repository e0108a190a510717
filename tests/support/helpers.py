"""Small factories for tests: tokens, headers and tasks made through the API itself."""

from __future__ import annotations

import time
from typing import Any

import jwt
from starlette.testclient import TestClient

SECRET = "test-secret-" + "s" * 40


def token(sub: Any = "alice", *, secret: str = SECRET, algorithm: str = "HS256", ttl: int = 3600, **claims: Any) -> str:
    payload: dict[str, Any] = {"sub": sub, "iat": int(time.time()), "exp": int(time.time()) + ttl, **claims}
    payload = {k: v for k, v in payload.items() if v is not None}
    return jwt.encode(payload, secret, algorithm=algorithm)


def auth(sub: str = "alice", **claims: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(sub, **claims)}"}


def create_task(client: TestClient, user: str = "alice", **fields: Any) -> dict[str, Any]:
    body = {"title": "A task", **fields}
    response = client.post(f"/api/{user}/tasks", json=body, headers=auth(user))
    assert response.status_code == 201, response.text
    task: dict[str, Any] = response.json()
    return task


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    """The response is an RFC 9457 problem with this status and every required member."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status
    assert all(isinstance(problem[k], str) and problem[k] for k in ("type", "title", "detail"))
    return problem


def create_tag(client: TestClient, user: str = "alice", **fields: Any) -> dict[str, Any]:
    body = {"name": "work", **fields}
    response = client.post(f"/api/{user}/tags", json=body, headers=auth(user))
    assert response.status_code == 201, response.text
    tag: dict[str, Any] = response.json()
    return tag
