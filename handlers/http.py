"""HTTP plumbing around Connexion: JSON responses with orjson, and routing that lets bad ids reach
the validator."""

from __future__ import annotations

from typing import Any

import orjson
import starlette.convertors
import starlette.routing
from connexion.middleware.routing import RoutingMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp

from handlers.logs import request_id_var


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """orjson-encoded JSON (datetimes as RFC 3339 with offset). Returning a Response also avoids
    Connexion's "multiple response content types" error for operations that declare problem+json."""
    headers = {**(headers or {}), "X-Request-ID": request_id_var.get()}  # so response validation sees it
    return Response(orjson.dumps(body), status_code=status, headers=headers, media_type="application/json")


def empty_response(status: int = 204) -> Response:
    return Response(status_code=status, headers={"X-Request-ID": request_id_var.get()})


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
