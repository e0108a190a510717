"""Better Auth jwt-plugin tokens (EdDSA, ES256, ES512, RS256, PS256) checked against a live JWKS endpoint."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from sqlalchemy import Engine, text
from starlette.testclient import TestClient

from handlers.app import create_app
from handlers.core.config import Settings
from tests.support.helpers import SECRET, assert_problem, auth
from tests.support.jwks_server import JWKS_PATH, JwksServer, better_auth_claims, hs256_with, key_pair

ALGORITHMS = ["EdDSA", "ES256", "ES512", "RS256", "PS256"]
REFETCH, TIMEOUT = 0.3, 1.5  # seconds: short, so that the tests that wait for them are quick (0.5 s flaked under load)

MakeClient = Callable[..., TestClient]


@pytest.fixture
def jwks() -> Iterator[JwksServer]:
    server = JwksServer().start()
    yield server
    server.stop()


@pytest.fixture
def make_client(database_url: str, engine: Engine, jwks: JwksServer) -> Iterator[MakeClient]:
    """A fresh app (so a fresh key cache) whose BETTER_AUTH_URL is the test JWKS server."""
    with ExitStack() as stack:

        def make(**overrides: Any) -> TestClient:
            settings = Settings(**{
                "better_auth_url": jwks.base_url, "database_url": database_url, "validate_responses": True,
                "jwks_refetch_seconds": REFETCH, "jwks_timeout_seconds": TIMEOUT, **overrides,
            })  # fmt: skip
            return stack.enter_context(TestClient(create_app(settings), raise_server_exceptions=False))

        yield make


@pytest.fixture
def api(make_client: MakeClient) -> TestClient:
    return make_client()


def get(client: TestClient, token: str, user: str = "alice") -> Any:
    return client.get(f"/api/{user}/tasks", headers={"Authorization": f"Bearer {token}"})


def published(jwks: JwksServer, algorithm: str = "EdDSA", kid: str = "7URB5sIutWGwOaEcJNaVnXimakBC0vXY") -> Any:
    pair = key_pair(algorithm, kid)
    jwks.keys.append(pair.jwk)
    return pair


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_tokens_of_each_algorithm_are_accepted(api: TestClient, jwks: JwksServer, algorithm: str) -> None:
    pair = published(jwks, algorithm)
    response = get(api, pair.sign(better_auth_claims(jwks.origin)))
    assert response.status_code == 200, response.text


def test_first_task_upserts_the_user_from_the_claims(api: TestClient, jwks: JwksServer, engine: Engine) -> None:
    pair = published(jwks)
    headers = {"Authorization": f"Bearer {pair.sign(better_auth_claims(jwks.origin, sub='u1x'))}"}
    assert api.post("/api/u1x/tasks", json={"title": "first"}, headers=headers).status_code == 201
    with engine.connect() as conn:
        row = conn.execute(text("SELECT email, name FROM users WHERE id = 'u1x'")).one()
    assert tuple(row) == ("u1x@example.com", "Alice Example")


@pytest.mark.parametrize("algorithm", ["EdDSA", "ES256", "RS256"])
def test_keys_without_alg_are_matched_by_type(api: TestClient, jwks: JwksServer, algorithm: str) -> None:
    pair = published(jwks, algorithm)
    del pair.jwk["alg"]  # older Better Auth versions publish no `alg`
    assert get(api, pair.sign(better_auth_claims(jwks.origin))).status_code == 200


def test_a_cached_key_costs_no_fetch(api: TestClient, jwks: JwksServer) -> None:
    token = published(jwks).sign(better_auth_claims(jwks.origin))
    for _ in range(5):
        assert get(api, token).status_code == 200
    assert jwks.hits == 1


def test_unknown_kid_is_401(api: TestClient, jwks: JwksServer) -> None:
    published(jwks)
    stranger = key_pair("EdDSA", "not-published")
    problem = assert_problem(get(api, stranger.sign(better_auth_claims(jwks.origin))), 401)
    assert problem["detail"] == "The token's signing key is not known"
    assert jwks.hits == 1


def test_token_without_kid_is_401(api: TestClient, jwks: JwksServer) -> None:
    pair = published(jwks)
    token = pair.sign(better_auth_claims(jwks.origin), kid=None)
    assert "kid" not in json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert_problem(get(api, token), 401)


def test_kid_of_a_key_of_another_type_is_401_without_refetch(api: TestClient, jwks: JwksServer) -> None:
    ed = published(jwks, "EdDSA", "k1")
    assert get(api, ed.sign(better_auth_claims(jwks.origin))).status_code == 200
    impostor = key_pair("ES256", "k1")  # same kid, an EC key the set does not hold
    assert_problem(get(api, impostor.sign(better_auth_claims(jwks.origin))), 401)
    assert jwks.hits == 1


def test_rotation_new_key_is_accepted_at_once_and_old_one_during_grace(api: TestClient, jwks: JwksServer) -> None:
    old = published(jwks, "EdDSA", "old")
    assert get(api, old.sign(better_auth_claims(jwks.origin))).status_code == 200
    new = key_pair("EdDSA", "new")
    jwks.keys.insert(0, new.jwk)  # the frontend rotates while the API runs
    started = time.monotonic()
    assert get(api, new.sign(better_auth_claims(jwks.origin))).status_code == 200
    assert time.monotonic() - started < REFETCH + 2.0  # generous: the machine may be busy
    assert get(api, old.sign(better_auth_claims(jwks.origin))).status_code == 200
    assert jwks.hits == 2


def test_a_removed_key_is_refused_once_the_cache_expires(make_client: MakeClient, jwks: JwksServer) -> None:
    client = make_client(jwks_cache_seconds=0.5)
    old = published(jwks, "EdDSA", "old")
    token = old.sign(better_auth_claims(jwks.origin))
    assert get(client, token).status_code == 200
    jwks.keys = [key_pair("EdDSA", "new").jwk]
    time.sleep(0.6)
    statuses = []
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and 401 not in statuses:
        statuses.append(get(client, token).status_code)  # served from the stale set while it refreshes
        time.sleep(0.05)
    assert statuses[-1] == 401 and set(statuses) <= {200, 401}


@pytest.mark.parametrize(
    ("claims", "detail"),
    [
        ({"iss": "http://evil.example"}, "another party"),
        ({"aud": "http://other.example"}, "another party"),
        ({"iss": None}, "'iss'"),
        ({"aud": None}, "'aud'"),
        ({"ttl": -120}, "expired"),
        ({"exp": None}, "'exp'"),
        ({"sub": None}, "'sub'"),
        ({"nbf": int(time.time()) + 600}, "not valid yet"),
    ],
)
def test_claim_rules(api: TestClient, jwks: JwksServer, claims: dict[str, Any], detail: str) -> None:
    pair = published(jwks)
    payload = better_auth_claims(jwks.origin, **claims)
    assert detail in assert_problem(get(api, pair.sign(payload)), 401)["detail"]


def test_leeway_accepts_a_token_expired_seconds_ago(api: TestClient, jwks: JwksServer) -> None:
    assert get(api, published(jwks).sign(better_auth_claims(jwks.origin, ttl=-10))).status_code == 200


def test_alg_none_is_401_without_a_fetch(api: TestClient, jwks: JwksServer) -> None:
    pair = published(jwks)
    for alg in ("none", "None", "NONE"):
        header = base64.urlsafe_b64encode(json.dumps({"alg": alg, "kid": pair.kid}).encode()).rstrip(b"=")
        payload = base64.urlsafe_b64encode(json.dumps(better_auth_claims(jwks.origin)).encode()).rstrip(b"=")
        assert_problem(get(api, f"{header.decode()}.{payload.decode()}."), 401)
    assert jwks.hits == 0


def public_key_bytes(pair: Any, form: str) -> bytes:
    public = pair.private.public_key()
    if form == "pem":
        return bytes(public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    if form == "jwk":
        return json.dumps(pair.jwk).encode()
    return (
        base64.urlsafe_b64decode(pair.jwk["x"] + "==")
        if "x" in pair.jwk
        else base64.urlsafe_b64decode(pair.jwk["n"] + "==")
    )


@pytest.mark.parametrize("with_secret", [False, True], ids=["jwks only", "jwks and secret"])
@pytest.mark.parametrize("form", ["pem", "jwk", "raw"])
@pytest.mark.parametrize("algorithm", ["EdDSA", "RS256"])
def test_hs256_signed_with_the_public_key_is_refused(
    make_client: MakeClient, jwks: JwksServer, algorithm: str, form: str, with_secret: bool
) -> None:
    client = make_client(better_auth_secret=SECRET if with_secret else "")
    pair = published(jwks, algorithm)
    assert get(client, pair.sign(better_auth_claims(jwks.origin))).status_code == 200
    forged = hs256_with(public_key_bytes(pair, form), better_auth_claims(jwks.origin), kid=pair.kid)
    assert_problem(get(client, forged), 401)


def test_jwks_down_is_503_with_retry_after_then_recovers(api: TestClient, jwks: JwksServer) -> None:
    token = published(jwks).sign(better_auth_claims(jwks.origin))
    jwks.stop()
    for _ in range(2):  # the first fails fetching, the second (within the refetch interval) fails at once
        started = time.monotonic()
        response = get(api, token)
        assert time.monotonic() - started < TIMEOUT + 2.0
        assert "public keys cannot be fetched" in assert_problem(response, 503)["detail"]
        assert response.headers["Retry-After"].isdigit()
        assert "WWW-Authenticate" not in response.headers  # not an auth failure: no sign-out
    jwks.start()
    time.sleep(REFETCH)
    assert get(api, token).status_code == 200


def test_slow_jwks_is_503_within_the_timeout_then_recovers(api: TestClient, jwks: JwksServer) -> None:
    token = published(jwks).sign(better_auth_claims(jwks.origin))
    jwks.delay = 5.0
    started = time.monotonic()
    assert_problem(get(api, token), 503)
    assert time.monotonic() - started < TIMEOUT + 2.0  # bounded by the timeout, not by the server
    jwks.delay = 0.0
    time.sleep(REFETCH)
    assert get(api, token).status_code == 200


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"<html>Sign in</html>", 200),
        (b"", 200),
        (b"[]", 200),
        (b'{"keys": "none"}', 200),
        (b'{"keys": [' + b'{"kty": "OKP"},' * 20000 + b"{}]}", 200),  # over the size limit
        (b'{"error": "internal"}', 500),
        (b"{}", 404),
    ],
    ids=["html", "empty", "array", "keys not a list", "huge", "500", "404"],
)
def test_garbage_jwks_is_503(api: TestClient, jwks: JwksServer, body: bytes, status: int) -> None:
    pair = published(jwks)
    jwks.body, jwks.status = body, status
    assert_problem(get(api, pair.sign(better_auth_claims(jwks.origin))), 503)


def test_malformed_keys_are_skipped_and_good_ones_used(api: TestClient, jwks: JwksServer) -> None:
    jwks.keys = [
        "not an object",
        {"kty": "OKP", "crv": "Ed25519", "x": "!!", "kid": "bad"},
        {"kty": "oct", "k": base64.urlsafe_b64encode(SECRET.encode()).decode(), "kid": "sym", "alg": "HS256"},
        {"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"},
        {**key_pair("ES256", "enc").jwk, "use": "enc"},
    ]
    good = published(jwks, "EdDSA", "good")
    assert get(api, good.sign(better_auth_claims(jwks.origin))).status_code == 200
    # A symmetric key in the set is never an HS256 key: without a configured secret, HS256 is refused.
    sym = hs256_with(SECRET.encode(), better_auth_claims(jwks.origin), kid="sym")
    assert_problem(get(api, sym), 401)


def test_cached_keys_work_while_jwks_is_down_and_unknown_kids_are_503(api: TestClient, jwks: JwksServer) -> None:
    token = published(jwks).sign(better_auth_claims(jwks.origin))
    assert get(api, token).status_code == 200
    jwks.stop()
    assert get(api, token).status_code == 200
    new = key_pair("EdDSA", "rotated-while-down")
    assert_problem(get(api, new.sign(better_auth_claims(jwks.origin))), 503)


def test_both_key_sources_at_once(make_client: MakeClient, jwks: JwksServer) -> None:
    client = make_client(better_auth_secret=SECRET)
    pair = published(jwks)
    assert get(client, pair.sign(better_auth_claims(jwks.origin))).status_code == 200
    # HS256 keeps its own rules: no iss/aud unless JWT_ISSUER/JWT_AUDIENCE are set.
    assert client.get("/api/alice/tasks", headers=auth()).status_code == 200
    assert_problem(get(client, pair.sign(better_auth_claims(jwks.origin, aud="http://other.example"))), 401)
    assert_problem(client.get("/api/alice/tasks", headers=auth("bob")), 403)


def test_hs256_is_refused_when_only_jwks_is_configured(api: TestClient) -> None:
    problem = assert_problem(api.get("/api/alice/tasks", headers=auth()), 401)
    assert problem["detail"] == "The token's signing algorithm is not accepted"


def test_jwks_token_for_another_user_is_403(api: TestClient, jwks: JwksServer) -> None:
    token = published(jwks).sign(better_auth_claims(jwks.origin, sub="bob"))
    assert_problem(get(api, token, user="alice"), 403)


def test_issuer_and_audience_overrides(make_client: MakeClient, jwks: JwksServer) -> None:
    client = make_client(jwt_issuer="https://auth.example", jwt_audience="https://api.example")
    pair = published(jwks)
    right = better_auth_claims(jwks.origin, iss="https://auth.example", aud="https://api.example")
    assert get(client, pair.sign(right)).status_code == 200
    assert_problem(get(client, pair.sign(better_auth_claims(jwks.origin))), 401)


def test_jwks_url_override(make_client: MakeClient, jwks: JwksServer) -> None:
    client = make_client(better_auth_url="http://localhost:3000", better_auth_jwks_url=jwks.base_url + JWKS_PATH)
    pair = published(jwks)
    assert get(client, pair.sign(better_auth_claims("http://localhost:3000"))).status_code == 200
    assert_problem(get(client, pair.sign(better_auth_claims(jwks.origin))), 401)


def test_concurrent_requests_with_a_new_kid_share_one_fetch(api: TestClient, jwks: JwksServer) -> None:
    first = published(jwks, "EdDSA", "first")
    assert get(api, first.sign(better_auth_claims(jwks.origin))).status_code == 200
    rotated = published(jwks, "EdDSA", "rotated")
    jwks.delay = 0.3  # the fetch is still in flight while the other requests arrive
    token = rotated.sign(better_auth_claims(jwks.origin))
    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(lambda _: get(api, token).status_code, range(16)))
    assert statuses == [200] * 16
    assert jwks.hits == 2
