"""Per-request work of Connexion's done once: each operation's decorator chain and URI parser, the
parameter names' Python spelling, and the security handler's look at the security function's signature.

Connexion 3.3 rebuilds an operation's decorators (parameter, response, sync-to-thread) on every
request, including an `inspect.signature` of the handler: ~5 % of a request's CPU in a py-spy
profile under wrk. The chain depends only on the handler and the API's settings, so it is built when
the operation is; the URI parser depends only on the spec operation, so it is made on its first
request. The request object is still made per request, exactly as Connexion does. A sync handler runs
in the app's handler slots (`handler_slots.py`) instead of Starlette's thread pool.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import Any

from connexion.apps.asynchronous import AsyncApi, AsyncOperation
from connexion.context import operation, receive, scope
from connexion.decorators import StarletteDecorator
from connexion.decorators.parameter import AsyncParameterDecorator, pythonic, sanitized
from connexion.security import BearerSecurityHandler
from connexion.uri_parsing import AbstractURIParser

from handlers.runtime.handler_slots import HandlerSlots


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
            if asyncio.iscoroutinefunction(function):  # asked once here, not on every call as Connexion does
                return function

            @functools.wraps(function)
            async def wrapper(*args: Any, **kwargs: Any) -> Any:
                return await run_sync(function, *args, **kwargs)

            return wrapper

        return decorator

    def __call__(self, function: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
        decorated = self.decorate(function)
        made_for: list[Any] = [None, None]  # the spec operation (one per route and app), its URI parser

        @functools.wraps(function)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            if made_for[0] is not (current := operation._get_current_object()):
                made_for[:] = [current, self.parser_for(current)]
            request = self.framework.get_request(uri_parser=made_for[1], scope=scope, receive=receive)
            return await decorated(request)

        return wrapper

    def parser_for(self, spec_operation: Any) -> AbstractURIParser:
        """What Connexion's `uri_parser` property makes on every request, with its schemas memoized."""
        parser_class = memoizing(self.uri_parser_class or spec_operation.uri_parser_class)
        return parser_class(spec_operation.parameters, spec_operation.body_definition())


@functools.cache
def memoizing(parser_class: type[AbstractURIParser]) -> type[AbstractURIParser]:
    """`parser_class` with `param_schemas` computed once: Connexion's rebuilds the dict of every
    parameter's schema for each parameter it resolves. A parser keeps no state of a request's."""

    class MemoizingURIParser(parser_class):
        @functools.cached_property
        def param_schemas(self) -> dict[str, Any]:
            schemas: dict[str, Any] = parser_class.param_schemas.fget(self)
            return schemas

    return MemoizingURIParser


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
