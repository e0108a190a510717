"""The service's Prometheus metrics (prometheus-client), what `GET /metrics` shows.

With `--workers N` every worker writes its values to files in `PROMETHEUS_MULTIPROC_DIR` (the server makes
a fresh directory and removes it on exit, `handlers.runtime.serving`) and a scrape, whichever worker answers
it, adds them up: prometheus-client's multiprocess mode. It picks that mode when it is first imported, so
the variable is set before the workers start. Gauges of live state (in flight, pool) count only workers
that are running ("livesum"): a worker that stops marks itself dead.
"""

from __future__ import annotations

import functools
import os
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
disable_created_metrics()  # type: ignore[no-untyped-call]  # the `_created` series double a scrape's size and say when a worker started

REQUESTS = Counter("taskapi_requests", "Requests answered, by operationId and status class", ["operation", "status"])
LATENCY = Histogram(
    "taskapi_request_duration_seconds",
    "Time from the request reaching the app to its response starting, by operationId and status class",
    ["operation", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
IN_FLIGHT = Gauge("taskapi_requests_in_flight", "Requests being handled now", multiprocess_mode="livesum")
SLOT_WAITS = Counter("taskapi_handler_slot_waits", "Requests that found every handler slot taken and waited")
SLOT_TIMEOUTS = Counter(
    "taskapi_handler_slot_timeouts", "Requests answered 503: no handler slot within DB_POOL_TIMEOUT"
)
POOL_CHECKED_OUT = Gauge(
    "taskapi_db_pool_checked_out",
    "Database connections in use (of DB_POOL_SIZE + DB_MAX_OVERFLOW per worker)",
    multiprocess_mode="livesum",
)
POOL_OVERFLOW = Gauge(
    "taskapi_db_pool_overflow",
    "Connections in use beyond DB_POOL_SIZE (from DB_MAX_OVERFLOW)",
    multiprocess_mode="livesum",
)
JWKS_FETCHES = Counter("taskapi_jwks_fetches", "Fetches of Better Auth's key set, by outcome", ["outcome"])
TOKEN_CACHE = Counter("taskapi_token_cache_lookups", "Tokens looked up among those already verified", ["result"])
# Children looked up once: `labels()` validates, locks and hashes its labels on every call (three calls a
# request were 1-5 % of a request's samples in a py-spy profile).
TOKEN_CACHE_HITS, TOKEN_CACHE_MISSES = TOKEN_CACHE.labels("hit"), TOKEN_CACHE.labels("miss")
RATE_LIMITED = Counter("taskapi_rate_limit_rejections", "Requests answered 429, by the limit exceeded", ["limit"])
RATE_LIMIT_STORAGE_ERRORS = Counter(
    "taskapi_rate_limit_storage_errors", "Rate-limit storage (Redis) failures; requests then pass unlimited"
)


@functools.cache  # operationIds of the spec (or none) by five status classes
def request_series(operation: str, status_class: str) -> tuple[Any, Any]:
    """The request counter's and the latency histogram's children for one operation and status class."""
    return REQUESTS.labels(operation, status_class), LATENCY.labels(operation, status_class)


def multiprocess_mode() -> bool:
    return bool(os.environ.get(MULTIPROCESS_DIR))


def registry() -> Any:
    """What a scrape reads: this process's metrics, or every worker's files in multiprocess mode."""
    if not multiprocess_mode():
        return REGISTRY
    collected = CollectorRegistry()
    multiprocess.MultiProcessCollector(collected)  # type: ignore[no-untyped-call]
    return collected


def exposition() -> tuple[bytes, str]:
    """The body and Content-Type of a scrape."""
    return generate_latest(registry()), CONTENT_TYPE_LATEST


def process_ended() -> None:
    """A worker's live gauges stop counting when it stops (multiprocess mode only)."""
    if multiprocess_mode():
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


def watch_pool(engine: Any) -> None:
    """Keep the pool gauges current, counted on checkout and checkin (the checkin event fires before the
    connection is back in the pool, so the pool's own `checkedout()` would lag by one there)."""
    from sqlalchemy import event

    size = getattr(engine.pool, "size", lambda: 0)()
    checked_out = 0

    def update(change: int) -> None:
        nonlocal checked_out
        checked_out += change
        POOL_CHECKED_OUT.set(checked_out)
        POOL_OVERFLOW.set(max(0, checked_out - size))

    event.listen(engine, "checkout", lambda *_: update(+1))
    event.listen(engine, "checkin", lambda *_: update(-1))
