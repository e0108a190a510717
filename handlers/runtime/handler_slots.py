"""The app's handler slots: how many handlers run at once, and where (a greenlet on the event loop)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from sqlalchemy.util import greenlet_spawn

from handlers.core import metrics
from handlers.core.problems import ServiceUnavailable


class HandlerSlots:
    """At most `size` handlers of one app run at once, and a request waits at most `timeout` seconds
    for a slot, then gets a 503. Sized to the pool: more handlers than pooled connections only wait on
    the pool or open overflow connections that close again (3,145 new PostgreSQL sessions in one `make
    bench` run with AnyIO's 40 threads). Error handlers take no slot.

    A sync handler runs on the event loop, in a greenlet (SQLAlchemy's `greenlet_spawn`): each wait of
    its database connection yields to the loop (`models.waits`), so handlers in flight overlap on their
    round trips as threads would, without a thread hop per request. The hop to AnyIO's pool (Connexion's
    `run_in_threadpool`) and back was 25-30 % of a get's CPU here (1.43 → 1.0 ms, wrk -c64, one worker),
    most of it GIL hand-offs between the loop and the handler thread. A handler that is cancelled (the
    server's shutdown deadline) stops at its next database wait; its connection is closed, its
    transaction rolled back by the server. Sized so that no checkout ever waits on the pool: that wait
    would block the loop. Where `inline` says the database's waits do not yield (SQLite, or before the
    engine's first connection: `models.db.waits_yield`), the handler runs on a thread of asyncio's."""

    def __init__(self, size: int, timeout: float, inline: Callable[[], bool] = lambda: True) -> None:
        self._size, self._timeout, self._inline = size, timeout, inline
        self._free: asyncio.Semaphore | None = None  # made on first use, in the serving loop

    async def run_sync(self, function: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """`function(*args, **kwargs)` once a slot is free, its database waits yielding to the loop."""
        if self._free is None:
            self._free = asyncio.Semaphore(self._size)
        if self._free.locked():
            metrics.SLOT_WAITS.inc()
            try:
                async with asyncio.timeout(self._timeout):
                    await self._free.acquire()
            except TimeoutError:
                metrics.SLOT_TIMEOUTS.inc()
                raise ServiceUnavailable("The service is busy; try again shortly") from None
        else:
            await self._free.acquire()  # a free slot: returns without suspending
        try:
            if self._inline():
                return await greenlet_spawn(function, *args, **kwargs)
            return await asyncio.to_thread(function, *args, **kwargs)
        finally:
            self._free.release()
