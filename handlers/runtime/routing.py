"""Connexion's middleware stack with two layers replaced: routing that lets bad ids reach the validator
(and no redirect for a trailing slash), and Swagger UI asked only for the paths it serves."""

from __future__ import annotations

from typing import Any

import starlette.convertors
import starlette.routing
from connexion.middleware import ConnexionMiddleware
from connexion.middleware.routing import RoutingMiddleware
from connexion.middleware.swagger_ui import SwaggerUIMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from handlers.core.urls import DOCS_PATHS, DOCS_PREFIX


class AnySegmentConvertor(starlette.convertors.Convertor[str]):
    """Matches any path segment, so `/tasks/abc` or `/tasks/1e99` reaches the parameter validator
    (400) instead of failing to route (404)."""

    regex = "[^/]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return str(value)


class LenientRoutingMiddleware(RoutingMiddleware):
    """Connexion's routing, with integer path parameters matched as any segment, and no redirect for a
    trailing slash (Starlette would answer 307 with a Location built from the client's Host header)."""

    def __init__(self, app: ASGIApp) -> None:
        super().__init__(app)
        # Connexion registers its digits-only "int" convertor in the line above; routes are compiled
        # later, when the API is added, so they pick up this one.
        starlette.convertors.register_url_convertor("int", AnySegmentConvertor())

    def add_api(self, *args: Any, **kwargs: Any) -> None:
        super().add_api(*args, **kwargs)
        self.router.redirect_slashes = False
        for route in self.router.routes:
            if isinstance(route, starlette.routing.Mount) and isinstance(route.app, starlette.routing.Router):
                route.app.redirect_slashes = False


class DocsOnlySwaggerUIMiddleware(SwaggerUIMiddleware):
    """Connexion's Swagger UI, for its own paths only. Connexion's runs every request through a router of
    its own (and a copy of the scope) before handing an API path on unchanged: 2 % of a get's samples in a
    py-spy profile. Relies on: `self.app` being the next layer, which SwaggerUIMiddleware's fallback
    (`default_fn`) calls with the original scope (tests/runtime/test_routing.py)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and path not in DOCS_PATHS and not path.startswith(DOCS_PREFIX):
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def connexion_middlewares() -> list[Any]:
    """Connexion's default middleware stack, with its routing replaced by `LenientRoutingMiddleware`."""
    return [LenientRoutingMiddleware if m is RoutingMiddleware else m for m in ConnexionMiddleware.default_middlewares]


def ask_swagger_ui_for_docs_only(app: Any) -> None:
    """Make `app` (a connexion AsyncApp, after its last add_middleware: Connexion finds a position such as
    BEFORE_SWAGGER by the class itself) use `DocsOnlySwaggerUIMiddleware`. Relies on: the stack being the
    list `app.middleware.middlewares` (its ConnexionMiddleware), built into layers when the app starts."""
    stack = app.middleware.middlewares
    app.middleware.middlewares = [DocsOnlySwaggerUIMiddleware if m is SwaggerUIMiddleware else m for m in stack]
