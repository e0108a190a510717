"""Per-user request limits (OWASP API4), counted by the `limits` library in memory or in a shared Redis.

The sliding-window counter: two counters per user and limit (this window's and the last one's, weighted),
so a Redis holds O(1) per user whatever the limit, unlike the moving window's one entry per request. A
limited request costs two Redis round trips (the hit, then the window's stats for the RateLimit-* headers).

If the storage fails (Redis down, slow, unreachable) requests pass unlimited for `RETRY_SECONDS`, with one
WARNING and one count in `taskapi_rate_limit_storage_errors_total`; then it is tried again. Refusing
everyone because a counter is unavailable would turn a Redis outage into a full outage.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import NamedTuple

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter

from handlers.core import metrics
from handlers.core.config import Settings, redact_url

log = logging.getLogger(__name__)

RETRY_SECONDS = 5.0
# A Redis on the same network answers in well under a millisecond; one that does not within this is down.
REDIS_TIMEOUT_SECONDS = 0.5


class Verdict(NamedTuple):
    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int  # until a request is allowed again (when not allowed) or the window frees up

    def headers(self) -> dict[str, str]:
        """draft-ietf-httpapi-ratelimit-headers (the RateLimit-Limit / -Remaining / -Reset form)."""
        headers = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_seconds),
        }
        if not self.allowed:
            headers["Retry-After"] = str(max(1, self.reset_seconds))
        return headers


class RateLimits:
    """The app's limits: `read` (GET, HEAD) and `write` (the rest), each None when turned off."""

    def __init__(self, settings: Settings, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.read = parse(settings.rate_limit_read) if settings.rate_limit_read else None
        self.write = parse(settings.rate_limit_write) if settings.rate_limit_write else None
        self._url = settings.rate_limit_storage
        self._clock = clock
        self._limiter: SlidingWindowCounterRateLimiter | None = None  # made on first use, on the event loop
        self._skip_until = -math.inf

    def for_method(self, method: str) -> RateLimitItem | None:
        return self.read if method in ("GET", "HEAD") else self.write

    async def charge(self, item: RateLimitItem, *identity: str) -> Verdict | None:
        """Count one request against `item` for `identity`; None when the storage cannot say."""
        if self._clock() < self._skip_until:
            return None
        try:
            limiter = self._limiter or self._make_limiter()
            allowed = await limiter.hit(item, *identity)
            stats = await limiter.get_window_stats(item, *identity)
        except Exception as exc:  # whatever the storage raised, it cannot count now: fail open
            self._skip_until = self._clock() + RETRY_SECONDS
            metrics.RATE_LIMIT_STORAGE_ERRORS.inc()
            log.warning(
                "rate-limit storage %s failed (%s); requests pass unlimited for %.0f s",
                redact_url(self._url),
                type(exc).__name__,
                RETRY_SECONDS,
            )
            return None
        reset = max(0, math.ceil(stats.reset_time - time.time()))
        return Verdict(allowed, item.amount, stats.remaining, reset)

    def _make_limiter(self) -> SlidingWindowCounterRateLimiter:
        storage: Storage
        if self._url.startswith("memory"):
            storage = MemoryStorage()
        else:  # redis-py's asyncio client, bounded so a stalled Redis costs a request at most this long
            storage = RedisStorage(
                f"async+{self._url}",
                implementation="redispy",
                key_prefix="taskapi",
                socket_timeout=REDIS_TIMEOUT_SECONDS,
                socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            )
        self._limiter = SlidingWindowCounterRateLimiter(storage)
        return self._limiter
