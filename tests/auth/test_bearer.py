"""Tokens (401), the path's user (403) and isolation between users (404), in that order."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
import pytest
from starlette.testclient import TestClient

from handlers.core.config import Settings
from tests.support.helpers import SECRET, assert_problem, auth, create_task, token

ENDPOINTS = [
    ("GET", "/api/{user}/tasks", None),
    ("POST", "/api/{user}/tasks", {"title": "x"}),
    ("GET", "/api/{user}/tasks/{id}", None),
    ("PUT", "/api/{user}/tasks/{id}", {"title": "changed"}),
    ("DELETE", "/api/{user}/tasks/{id}", None),
    ("PATCH", "/api/{user}/tasks/{id}/complete", None),
    ("PATCH", "/api/{user}/tasks/{id}/complete", {"completed": True}),
]
ENDPOINT_IDS = [f"{m} {p.replace('/api/{user}/tasks', '')}" + (" body" if b else "") for m, p, b in ENDPOINTS]


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def unsigned(claims: dict[str, Any]) -> str:
    return f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}."


NOW = int(time.time())
VALID = {"sub": "alice", "exp": NOW + 3600}
GOOD = token()
header, payload, signature = GOOD.split(".")
BAD_TOKENS = {
    "garbage": "not-a-jwt",
    "two segments": "abc.def",
    "wrong secret": token(secret="another-secret-" + "x" * 40),
    "expired": token(ttl=-120),
    "not yet valid": token(nbf=NOW + 600),
    "issued in the future": token(iat=NOW + 600),
    "no sub": token(sub=None),
    "empty sub": token(sub=""),
    "numeric sub": jwt.encode({"sub": 42, "exp": NOW + 3600}, SECRET, algorithm="HS256"),
    "no exp": jwt.encode({"sub": "alice"}, SECRET, algorithm="HS256"),
    "alg none": unsigned(VALID),
    "alg none no signature": unsigned(VALID)[:-1],
    "HS512": token(algorithm="HS512"),
    "tampered payload": f"{header}.{b64({'sub': 'bob', 'exp': NOW + 3600})}.{signature}",
    "tampered signature": f"{header}.{payload}.{signature[::-1]}",
}


@pytest.fixture
def task_id(client: TestClient) -> int:
    return int(create_task(client, "alice")["id"])


def call(client: TestClient, method: str, path: str, body: Any, headers: dict[str, str], **kw: Any) -> Any:
    url = path.format(**{"user": "alice", "id": "1", **kw})
    return client.request(method, url, json=body, headers=headers)


@pytest.mark.parametrize("name", BAD_TOKENS)
def test_bad_tokens_are_401_with_www_authenticate(client: TestClient, task_id: int, name: str) -> None:
    headers = {"Authorization": f"Bearer {BAD_TOKENS[name]}"}
    response = client.get(f"/api/alice/tasks/{task_id}", headers=headers)
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert BAD_TOKENS[name] not in response.text


@pytest.mark.parametrize("authorization", [None, "", "Bearer", "Bearer ", "Basic YWxpY2U6c2VjcmV0", "Token abc", GOOD])
def test_missing_or_non_bearer_credentials_are_401(client: TestClient, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = client.get("/api/alice/tasks", headers=headers)
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_leeway_accepts_slightly_expired_tokens(client: TestClient) -> None:
    headers = {"Authorization": f"Bearer {token(ttl=-10)}"}
    assert client.get("/api/alice/tasks", headers=headers).status_code == 200


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS, ids=ENDPOINT_IDS)
def test_every_endpoint_needs_a_token(client: TestClient, task_id: int, method: str, path: str, body: Any) -> None:
    assert_problem(call(client, method, path, body, {}, id=task_id), 401)


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS, ids=ENDPOINT_IDS)
def test_foreign_user_id_is_403_before_anything_else(
    client: TestClient, task_id: int, method: str, path: str, body: Any
) -> None:
    bob = auth("bob")
    assert_problem(call(client, method, path, body, bob, id=task_id), 403)
    # Even with input that is invalid in every other way: 403 comes first.
    bad = client.request(method, path.format(user="alice", id="not-an-id"), content=b"{broken", headers=bob)
    assert_problem(bad, 403)
    assert client.get(f"/api/alice/tasks/{task_id}", headers=auth()).json()["title"] == "A task"


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS[2:], ids=ENDPOINT_IDS[2:])
def test_another_users_task_is_404_and_untouched(
    client: TestClient, task_id: int, method: str, path: str, body: Any
) -> None:
    before = client.get(f"/api/alice/tasks/{task_id}", headers=auth()).json()
    response = call(client, method, path, body, auth("bob"), user="bob", id=task_id)
    problem = assert_problem(response, 404)
    assert "alice" not in problem["detail"]
    assert client.get(f"/api/alice/tasks/{task_id}", headers=auth()).json() == before


def test_401_comes_before_403_and_400(client: TestClient) -> None:
    response = client.put("/api/bob/tasks/abc", content=b"{", headers={"Authorization": "Bearer nope"})
    assert_problem(response, 401)


def test_issuer_and_audience_are_required_when_configured(database_url: str, engine: Any) -> None:
    settings = Settings(
        better_auth_secret=SECRET, database_url=database_url, jwt_issuer="https://app.example",
        jwt_audience="https://api.example",
    )  # fmt: skip
    from handlers.app import create_app

    with TestClient(create_app(settings)) as client:
        right = auth(iss="https://app.example", aud="https://api.example")
        assert client.get("/api/alice/tasks", headers=right).status_code == 200
        for claims in ({}, {"iss": "https://app.example"}, {"aud": "https://api.example"},
                       {"iss": "https://evil.example", "aud": "https://api.example"},
                       {"iss": "https://app.example", "aud": "https://other.example"}):  # fmt: skip
            assert_problem(client.get("/api/alice/tasks", headers=auth(**claims)), 401)
        wrong = auth(iss="https://evil.example", aud="https://api.example")
        assert "another party" in assert_problem(client.get("/api/alice/tasks", headers=wrong), 401)["detail"]


def test_audience_claim_is_ignored_when_not_configured(client: TestClient) -> None:
    assert client.get("/api/alice/tasks", headers=auth(aud="http://localhost:3000")).status_code == 200


@pytest.mark.parametrize("claims", [{"nbf": NOW + 20}, {"iat": NOW + 20}])
def test_leeway_accepts_slightly_early_tokens(client: TestClient, claims: dict[str, int]) -> None:
    assert client.get("/api/alice/tasks", headers=auth(**claims)).status_code == 200


def signed_raw(payload: bytes) -> str:
    """An HS256 token over `payload` exactly as given (JSON that json.dumps would not write)."""
    signing_input = f"{b64({'alg': 'HS256', 'typ': 'JWT'})}.{base64.urlsafe_b64encode(payload).rstrip(b'=').decode()}"
    digest = hmac.new(SECRET.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(digest).rstrip(b'=').decode()}"


# RFC 7519 §2: a NumericDate is a JSON number. PyJWT calls int() on these claims, so it accepted strings
# and non-ASCII digits, and integers past float range (an `exp` of 10^400 was a 500 in the token cache).
BAD_DATES: dict[str, dict[str, Any]] = {
    "exp 10^400": {"exp": 10**400},
    "exp -10^400": {"exp": -(10**400)},
    "exp as a string": {"exp": str(NOW + 3600)},
    "exp in Arabic-Indic digits": {"exp": "".join(chr(0x660 + int(d)) for d in str(NOW + 3600))},
    "exp as a float string": {"exp": f"{NOW + 3600}.0"},
    "exp true": {"exp": True},
    "exp 1e300": {"exp": 1e300},
    "exp beyond year 9999": {"exp": 253402300800},
    "exp negative": {"exp": -1},
    "nbf 10^400": {"exp": NOW + 3600, "nbf": 10**400},
    "nbf as a string": {"exp": NOW + 3600, "nbf": str(NOW)},
    "nbf negative": {"exp": NOW + 3600, "nbf": -(10**400)},
    "iat -10^400": {"exp": NOW + 3600, "iat": -(10**400)},
    "iat as a string": {"exp": NOW + 3600, "iat": str(NOW)},
    "iat null": {"exp": NOW + 3600, "iat": None},
    "iat a list": {"exp": NOW + 3600, "iat": [NOW]},
}


@pytest.mark.parametrize("name", BAD_DATES)
def test_dates_that_are_not_sane_json_numbers_are_401(client: TestClient, name: str) -> None:
    claims = {"sub": "alice", **BAD_DATES[name]}
    bearer = jwt.encode(claims, SECRET, algorithm="HS256")
    for _ in range(2):  # the second time the token cache is asked first
        assert_problem(client.get("/api/alice/tasks", headers={"Authorization": f"Bearer {bearer}"}), 401)


@pytest.mark.parametrize(
    "payload", [b'{"sub":"alice","exp":1e400}', b'{"sub":"alice","exp":NaN}', b'{"sub":"alice","exp":-Infinity}']
)
def test_dates_json_cannot_hold_are_401(client: TestClient, payload: bytes) -> None:
    assert_problem(client.get("/api/alice/tasks", headers={"Authorization": f"Bearer {signed_raw(payload)}"}), 401)


def test_fractional_dates_are_json_numbers_too(client: TestClient) -> None:
    bearer = jwt.encode({"sub": "alice", "exp": NOW + 3600.5, "iat": NOW - 0.25}, SECRET, algorithm="HS256")
    assert client.get("/api/alice/tasks", headers={"Authorization": f"Bearer {bearer}"}).status_code == 200


@pytest.mark.parametrize("path", ["/api/alice/tasks", "/api/health", "/api/nowhere"])
def test_two_authorization_headers_are_400(client: TestClient, path: str) -> None:
    """Which of two credentials counts is ambiguous (the first won): RFC 6750 §3.1 `invalid_request`."""
    for second in (GOOD, "Bearer not-a-token", "Basic YWxpY2U6c2VjcmV0"):
        headers = [("Authorization", f"Bearer {GOOD}"), ("Authorization", second)]
        assert_problem(client.get(path, headers=headers), 400)


@pytest.mark.parametrize("padding", [" ", "\t", "  \t "])
def test_white_space_after_the_token_is_ignored(client: TestClient, padding: str) -> None:
    """RFC 9110 §5.5: optional white space around a field value is not part of it."""
    response = client.get("/api/alice/tasks", headers={"Authorization": f"Bearer {GOOD}{padding}"})
    assert response.status_code == 200, response.text
