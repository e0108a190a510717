"""Public keys from a JWKS URL (Better Auth's jwt plugin), a key source for `handlers.auth.verifier`.

Looking a key up is pure CPU on a cached set. Fetching is async with a total deadline, shared by every
request that waits for it (one fetch, however many callers), and started at most once per refetch
interval, so a flood of made-up `kid`s cannot turn into a flood of fetches. A stale set is refreshed in
the background while its keys keep serving. A key that appears on rotation is fetched when a token first
names it: that request waits for the next allowed fetch (at most the interval, plus the timeout) rather
than get a 401 that would sign its user out.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from typing import Any

import httpx

from handlers.auth.jwks_document import KEY_TYPES, JwksError, PublicKey, parse_jwks
from handlers.core import metrics
from handlers.core.config import redact_url
from handlers.core.problems import ServiceUnavailable

log = logging.getLogger(__name__)

MAX_DOCUMENT_BYTES = 256 * 1024  # a key set is a few KiB; a bigger answer is not one
UNAVAILABLE_DETAIL = "The sign-in provider's public keys cannot be fetched; try again shortly"


class JwksKeys:
    """Key source for EdDSA/ES256/ES512/RS256/PS256 tokens, by `kid`, from a JWKS URL."""

    algorithms: tuple[str, ...] = tuple(KEY_TYPES)

    def __init__(
        self,
        url: str,
        *,
        issuer: str | None,
        audience: str | None,
        cache_seconds: float = 300.0,
        refetch_seconds: float = 5.0,
        timeout_seconds: float = 3.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url, self.issuer, self.audience = url, issuer, audience
        self._cache_seconds, self._refetch_seconds, self._timeout = cache_seconds, refetch_seconds, timeout_seconds
        self._clock = clock
        self._keys: dict[str, PublicKey] = {}
        self._fetched_at = -math.inf  # last successful fetch
        self._attempted_at = -math.inf  # last fetch started, successful or not
        self._failed = False  # whether the last fetch failed
        self._fetch: asyncio.Task[None] | None = None
        self._ssl = httpx.create_ssl_context()  # built once here: it costs milliseconds of CPU

    def key_for(self, algorithm: str, key_id: str | None) -> Any | None:
        public = self._keys.get(key_id) if key_id is not None and algorithm in KEY_TYPES else None
        if public is not None and self._clock() - self._fetched_at > self._cache_seconds:
            self._start_fetch()  # stale: refresh in the background; the cached key serves meanwhile
        return public.key if public is not None and public.fits(algorithm) else None

    async def refresh(self, algorithm: str, key_id: str | None) -> None:
        """Fetch the set again (sharing a fetch in flight) when that could find this token's key.

        Raises ServiceUnavailable when the set cannot be fetched and no cached key has this `kid`:
        the sign-in is not wrong, our dependency is down, and a 401 would sign the user out."""
        if algorithm not in KEY_TYPES or key_id is None or key_id in self._keys:
            return  # a fetch cannot help: the algorithm is not ours, or the key is known but does not fit
        idle = self._fetch is None or self._fetch.done()
        if idle and self._failed and self._clock() - self._attempted_at < self._refetch_seconds:
            raise ServiceUnavailable(UNAVAILABLE_DETAIL)  # it failed moments ago: say so now, hold no one
        await asyncio.shield(self._start_fetch())  # one caller giving up does not cancel it for the others
        if self._failed and key_id not in self._keys:
            raise ServiceUnavailable(UNAVAILABLE_DETAIL)

    def close(self) -> None:
        if self._fetch is not None:
            self._fetch.cancel()

    def _start_fetch(self) -> asyncio.Task[None]:
        """The fetch in flight on this event loop, or a new one, delayed to respect the refetch interval."""
        loop = asyncio.get_running_loop()
        if self._fetch is None or self._fetch.done() or self._fetch.get_loop() is not loop:
            delay = max(0.0, self._attempted_at + self._refetch_seconds - self._clock())
            self._fetch = loop.create_task(self._fetch_after(delay))
        return self._fetch

    async def _fetch_after(self, delay: float) -> None:
        await asyncio.sleep(delay)
        self._attempted_at = self._clock()
        try:
            async with asyncio.timeout(self._timeout):  # a total deadline, however slowly bytes arrive
                keys = parse_jwks(await self._download())
        except Exception as exc:  # whatever went wrong, the key set is unavailable; the token is not bad
            self._failed = True
            metrics.JWKS_FETCHES.labels("failed").inc()
            reason = str(exc) if isinstance(exc, JwksError) else type(exc).__name__
            log.warning("JWKS fetch from %s failed: %s", redact_url(self.url), reason)
            return
        self._keys, self._fetched_at, self._failed = keys, self._clock(), False
        metrics.JWKS_FETCHES.labels("ok").inc()
        log.info("JWKS fetched from %s: %d signing keys", redact_url(self.url), len(keys))

    async def _download(self) -> bytes:
        # trust_env=False: settings come from handlers.core.config only, not from proxy variables.
        async with (
            httpx.AsyncClient(verify=self._ssl, timeout=self._timeout, trust_env=False) as client,
            client.stream("GET", self.url, headers={"Accept": "application/json"}) as response,
        ):
            if response.status_code != 200:
                raise JwksError(f"HTTP {response.status_code}")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_DOCUMENT_BYTES:
                    raise JwksError(f"the document is over {MAX_DOCUMENT_BYTES} bytes")
            return bytes(body)
