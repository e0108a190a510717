"""The JWKS key source on its own: shared fetches, the refetch limit, and a hot path that never waits."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator

import pytest

from handlers.auth.jwks_document import parse_jwks
from handlers.auth.jwks_source import JwksKeys
from handlers.auth.verifier import TokenVerifier
from handlers.core.problems import ServiceUnavailable
from tests.support.jwks_server import JWKS_PATH, JwksServer, better_auth_claims, key_pair


@pytest.fixture
def jwks() -> Iterator[JwksServer]:
    server = JwksServer().start()
    yield server
    server.stop()


def source(jwks: JwksServer, refetch: float = 0.25, timeout: float = 2.0) -> JwksKeys:
    return JwksKeys(
        jwks.base_url + JWKS_PATH,
        issuer=jwks.origin,
        audience=jwks.origin,
        refetch_seconds=refetch,
        timeout_seconds=timeout,
    )


def test_concurrent_requests_for_one_unknown_kid_share_one_fetch(jwks: JwksServer) -> None:
    pair = key_pair("EdDSA", "k1")
    jwks.keys, jwks.delay = [pair.jwk], 0.2  # the fetch is still in flight when the others arrive

    async def main() -> object:
        keys = source(jwks)
        await asyncio.gather(*(keys.refresh("EdDSA", "k1") for _ in range(50)))
        return keys.key_for("EdDSA", "k1")

    assert asyncio.run(main()) is not None
    assert jwks.hits == 1


def test_a_flood_of_made_up_kids_fetches_at_most_once_per_interval(jwks: JwksServer) -> None:
    jwks.keys = [key_pair("EdDSA", "real").jwk]
    interval, duration = 0.25, 1.2

    async def main() -> float:
        keys = source(jwks, refetch=interval)
        started = time.monotonic()
        waves = []
        count = 0
        while time.monotonic() - started < duration:
            for _ in range(20):
                count += 1
                waves.append(asyncio.create_task(keys.refresh("EdDSA", f"made-up-{count}")))
            await asyncio.sleep(0.02)
        await asyncio.gather(*waves)
        return time.monotonic() - started

    elapsed = asyncio.run(main())
    assert 2 <= jwks.hits <= elapsed / interval + 1


def test_a_cached_key_verifies_without_suspending(jwks: JwksServer) -> None:
    """The hot path is CPU only: the coroutine finishes on its first step, never yielding to the loop."""
    pair = key_pair("ES256", "k1")
    jwks.keys = [pair.jwk]
    token = pair.sign(better_auth_claims(jwks.origin))

    async def main() -> object:
        keys = source(jwks)
        await keys.refresh("ES256", "k1")
        step = TokenVerifier([keys]).verify(token)
        try:
            step.send(None)
        except StopIteration as done:
            return done.value
        step.close()
        raise AssertionError("verification of a cached key waited for something")

    claims = asyncio.run(main())
    assert isinstance(claims, dict) and claims["sub"] == "alice"
    assert jwks.hits == 1


def test_unavailable_set_raises_service_unavailable(jwks: JwksServer) -> None:
    jwks.stop()

    async def main() -> None:
        await source(jwks, timeout=0.5).refresh("EdDSA", "k1")

    with pytest.raises(ServiceUnavailable):
        asyncio.run(main())


def test_parse_keeps_only_signing_keys_that_fit() -> None:
    ed, ec = key_pair("EdDSA", "ed"), key_pair("ES512", "ec")
    keys = parse_jwks(json.dumps({"keys": [ed.jwk, ec.jwk]}).encode())
    assert set(keys) == {"ed", "ec"}
    assert keys["ed"].fits("EdDSA") and not keys["ed"].fits("ES256")
    assert keys["ec"].fits("ES512") and not keys["ec"].fits("ES256") and not keys["ec"].fits("EdDSA")
