"""The verified-token cache: a hit skips the signature check, but never outlives the token's `exp`."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import pytest

from handlers.auth.shared_secret import SharedSecret
from handlers.auth.token_cache import MAX_TOKENS, CachingTokenVerifier
from handlers.auth.verifier import LEEWAY_SECONDS, Claims, TokenVerifier
from handlers.core.problems import Unauthenticated
from tests.support.helpers import SECRET, token


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def verifier(clock: Clock) -> CachingTokenVerifier:
    return CachingTokenVerifier([SharedSecret(SECRET)], clock=clock)


def verify(cache: CachingTokenVerifier, tok: str) -> Claims:
    return asyncio.run(cache.verify(tok))


def test_a_cached_token_still_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    cache = verifier(clock)
    tok = token("alice", ttl=60)
    assert verify(cache, tok)["sub"] == "alice"
    calls: list[str] = []
    original = TokenVerifier.verify

    async def counting(self: TokenVerifier, t: str) -> Claims:
        calls.append(t)
        return await original(self, t)

    monkeypatch.setattr(TokenVerifier, "verify", counting)  # counts the real verifications
    clock.now += 60 + LEEWAY_SECONDS - 1
    assert verify(cache, tok)["sub"] == "alice"
    assert calls == []  # served from the cache
    clock.now += 2  # past exp + leeway; PyJWT is given the same clock, so the real check rejects it
    monkeypatch.setattr("jwt.api_jwt.datetime", FrozenDatetime(clock.now))
    with pytest.raises(Unauthenticated, match="expired"):
        verify(cache, tok)
    assert calls == [tok]


def test_only_valid_tokens_are_cached_and_each_by_its_whole_string() -> None:
    cache = verifier(Clock())
    good = token("alice")
    forged = good[:-2] + ("AA" if not good.endswith("AA") else "BB")
    assert verify(cache, good)["sub"] == "alice"
    for _ in range(2):  # a failure is not remembered as a success, nor a near-identical string served
        with pytest.raises(Unauthenticated):
            verify(cache, forged)
    with pytest.raises(Unauthenticated):
        verify(cache, token("alice", secret="another-secret-" + "x" * 40))


def test_a_hit_needs_the_key_that_verified_it() -> None:
    """A key the source no longer has (a JWKS refetch dropped it) stops its cached tokens too."""
    source = SharedSecret(SECRET)
    cache = CachingTokenVerifier([source], clock=Clock())
    tok = token("alice")
    assert verify(cache, tok)["sub"] == "alice"
    source._key = b"a-rotated-secret-" + b"r" * 40
    with pytest.raises(Unauthenticated, match="signature"):
        verify(cache, tok)


def test_claims_cannot_be_changed_through_a_hit() -> None:
    cache = verifier(Clock())
    tok = token("alice")
    verify(cache, tok)["sub"] = "mallory"
    assert verify(cache, tok)["sub"] == "alice"


def test_the_cache_is_bounded() -> None:
    cache = verifier(Clock())
    tokens = [token(f"user{n}") for n in range(MAX_TOKENS + 5)]
    for tok in tokens:
        verify(cache, tok)
    assert len(cache._verified) == MAX_TOKENS
    assert tokens[0] not in cache._verified and tokens[-1] in cache._verified


class FrozenDatetime:
    """Stands in for the `datetime` class PyJWT reads the current time from."""

    def __init__(self, now: float) -> None:
        self._now = now

    def now(self, tz: object = None) -> datetime:
        return datetime.fromtimestamp(self._now, UTC)
