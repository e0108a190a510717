"""HTTP plumbing around Connexion: JSON responses with orjson, bounded request bodies, and routing
that lets bad ids reach the validator."""

from __future__ import annotations

from typing import Any

import orjson
import starlette.convertors
import starlette.routing
from connexion.middleware.routing import RoutingMiddleware
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from handlers.logs import request_id_var
from handlers.problems import PayloadTooLarge, UnsupportedMediaType

MAX_BODY_BYTES = 64 * 1024  # a task is at most ~9 KB of JSON
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


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


class RequestBodyMiddleware:
    """Reads a POST/PUT/PATCH body whole, before Connexion validates it (and after the token check):
    more than `max_bytes` is 413, so no client can make the service buffer or parse megabytes; a body
    without a Content-Type is 415 (Connexion would validate it as JSON, then hand the handler raw
    bytes); a chunked body is replayed with a Content-Length, which Connexion needs to see it at all."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise PayloadTooLarge(f"The body may be at most {self.max_bytes} bytes")
        body = bytearray()
        more_body = True
        while more_body:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # nobody is left to answer
            body += message.get("body", b"")
            if len(body) > self.max_bytes:
                raise PayloadTooLarge(f"The body may be at most {self.max_bytes} bytes")
            more_body = message.get("more_body", False)
        if body and "content-type" not in headers:
            raise UnsupportedMediaType("A body needs the header Content-Type: application/json")
        scope["headers"] = [(k, v) for k, v in scope["headers"] if k not in (b"content-length", b"transfer-encoding")]
        scope["headers"].append((b"content-length", str(len(body)).encode()))
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await self.app(scope, replay, send)
