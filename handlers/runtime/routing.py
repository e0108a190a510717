"""Routing that lets bad ids reach the validator, and no redirect for a trailing slash."""

from __future__ import annotations

from typing import Any

import starlette.convertors
import starlette.routing
from connexion.middleware import ConnexionMiddleware
from connexion.middleware.routing import RoutingMiddleware
from starlette.types import ASGIApp


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


def connexion_middlewares() -> list[Any]:
    """Connexion's default middleware stack, with its routing replaced by `LenientRoutingMiddleware`."""
    return [LenientRoutingMiddleware if m is RoutingMiddleware else m for m in ConnexionMiddleware.default_middlewares]
