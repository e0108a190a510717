"""Per-request work of Connexion's done once: each operation's decorator chain, and the security
handler's look at the security function's signature.

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
from connexion.security import BearerSecurityHandler

from handlers.context import current


class PrebuiltStarletteDecorator(StarletteDecorator):
    def __call__(self, function: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
        decorated = self.decorate(function)

        @functools.wraps(function)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            request = self.framework.get_request(uri_parser=self.uri_parser, scope=scope, receive=receive)
            async with current().slots.hold():
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


def use_prebuilt_operations(app: Any) -> None:
    """Make `app` (a connexion AsyncApp, before add_api) build each operation's decorators once."""
    app._middleware_app.api_cls = PrebuiltAsyncApi
