"""Per-request work of Connexion's done once: each operation's decorator chain, and the security
handler's look at the security function's signature.

Connexion 3.3 rebuilds an operation's decorators (parameter, response, sync-to-thread) on every
request, including an `inspect.signature` of the handler: ~5 % of a request's CPU in a py-spy
profile under wrk. The chain depends only on the handler and the API's settings, so it is built when
the operation is; what is per request (the request object, the URI parser reading the current
operation) is still made per request, exactly as Connexion does.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import Any

from connexion.apps.asynchronous import AsyncApi, AsyncOperation
from connexion.context import receive, scope
from connexion.decorators import StarletteDecorator
from connexion.decorators.parameter import AsyncParameterDecorator, pythonic, sanitized
from connexion.security import BearerSecurityHandler
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


class NameCachingParameterDecorator(AsyncParameterDecorator):
    """Connexion's, with each parameter name's Python spelling remembered: it respells every name of
    every request (`inflection.underscore` and three regular expressions each), 3.4 % of a get's samples.
    Names come from the spec (unknown query parameters are refused before), the cache is bounded anyway."""

    def __init__(self, *, framework: Any, pythonic_params: bool = False) -> None:
        super().__init__(framework=framework, pythonic_params=pythonic_params)
        spell: Callable[[str], str] = pythonic if pythonic_params else sanitized
        self.sanitize_fn = functools.lru_cache(maxsize=1024)(spell)


class PrebuiltStarletteDecorator(StarletteDecorator):
    def __init__(self, slots: HandlerSlots, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.slots = slots

    @property
    def _parameter_decorator_cls(self) -> type[AsyncParameterDecorator]:
        return NameCachingParameterDecorator

    @property
    def _sync_async_decorator(self) -> Callable[[Callable[..., Any]], Callable[..., Awaitable[Any]]]:
        """Connexion's, with a sync handler run in the app's handler slots instead of Starlette's pool."""
        run_sync = self.slots.run_sync

        def decorator(function: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
            @functools.wraps(function)
            async def wrapper(*args: Any, **kwargs: Any) -> Any:
                if asyncio.iscoroutinefunction(function):
                    return await function(*args, **kwargs)
                return await run_sync(function, *args, **kwargs)

            return wrapper

        return decorator

    def __call__(self, function: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
        decorated = self.decorate(function)

        @functools.wraps(function)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            request = self.framework.get_request(uri_parser=self.uri_parser, scope=scope, receive=receive)
            return await decorated(request)

        return wrapper


class PrebuiltAsyncOperation(AsyncOperation):
    _prebuilt: Callable[..., Awaitable[Any]]

    def prebuild(self, slots: HandlerSlots) -> None:
        decorator = PrebuiltStarletteDecorator(slots, pythonic_params=self.pythonic_params, jsonifier=self.jsonifier)
        self._prebuilt = decorator(self._fn)

    @property
    def fn(self) -> Callable[..., Awaitable[Any]]:
        return self._prebuilt


class PrebuiltAsyncApi(AsyncApi):
    """An AsyncApp's `api_cls` (see `use_prebuilt_operations`), with the app's handler slots."""

    slots: HandlerSlots

    def make_operation(self, operation: Any) -> PrebuiltAsyncOperation:
        built: PrebuiltAsyncOperation = PrebuiltAsyncOperation.from_operation(
            operation, pythonic_params=self.pythonic_params, jsonifier=self.jsonifier
        )
        built.prebuild(self.slots)
        return built


class CachedBearerSecurityHandler(BearerSecurityHandler):
    """Connexion asks, on every request, whether the security function accepts `request` and
    `required_scopes`, by `inspect.signature`: ~8 % of a get's CPU in a py-spy profile. A function's
    signature does not change, so the answer is remembered per function and keyword."""

    @staticmethod
    @functools.cache
    def _accepts_kwarg(func: Callable[..., Any], keyword: str) -> bool:
        accepts: bool = BearerSecurityHandler._accepts_kwarg(func, keyword)
        return accepts


# AsyncApp(security_map=...): Connexion's handlers, with the bearer one replaced.
SECURITY_MAP = {"bearer": CachedBearerSecurityHandler}


def use_prebuilt_operations(app: Any, slots: HandlerSlots) -> None:
    """Make `app` (a connexion AsyncApp, before add_api) build each operation's decorators once, and
    run its handlers within `slots`."""
    app._middleware_app.api_cls = type("AppPrebuiltAsyncApi", (PrebuiltAsyncApi,), {"slots": slots})


def operations_of(app: Any) -> list[Any]:
    """The operations `app` routes requests to (after add_api): Connexion's `apis` by base path."""
    return [op for apis in app._middleware_app.apis.values() for api in apis for op in api.operations.values()]
