"""Connexion's async operations, with each handler's decorator chain built once instead of per request.

Connexion 3.3 rebuilds an operation's decorators (parameter, response, sync-to-thread) on every
request, including an `inspect.signature` of the handler: ~5 % of a request's CPU in a py-spy
profile under wrk. The chain depends only on the handler and the API's settings, so it is built when
the operation is; what is per request (the request object, the URI parser reading the current
operation) is still made per request, exactly as Connexion does.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from connexion.apps.asynchronous import AsyncApi, AsyncOperation
from connexion.context import receive, scope
from connexion.decorators import StarletteDecorator


class PrebuiltStarletteDecorator(StarletteDecorator):
    def __call__(self, function: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
        decorated = self.decorate(function)

        @functools.wraps(function)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            request = self.framework.get_request(uri_parser=self.uri_parser, scope=scope, receive=receive)
            return await decorated(request)

        return wrapper


class PrebuiltAsyncOperation(AsyncOperation):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        decorator = PrebuiltStarletteDecorator(pythonic_params=self.pythonic_params, jsonifier=self.jsonifier)
        self._prebuilt = decorator(self._fn)

    @property
    def fn(self) -> Callable[..., Awaitable[Any]]:
        return self._prebuilt


class PrebuiltAsyncApi(AsyncApi):
    """Set as an AsyncApp's `api_cls` before `add_api`."""

    def make_operation(self, operation: Any) -> PrebuiltAsyncOperation:
        built: PrebuiltAsyncOperation = PrebuiltAsyncOperation.from_operation(
            operation, pythonic_params=self.pythonic_params, jsonifier=self.jsonifier
        )
        return built


def use_prebuilt_operations(app: Any) -> None:
    """Make `app` (a connexion AsyncApp, before add_api) build each operation's decorators once."""
    app._middleware_app.api_cls = PrebuiltAsyncApi
