"""Request bodies read whole and bounded before Connexion sees them."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from handlers.core import media_type
from handlers.core.problems import PayloadTooLarge, UnsupportedMediaType

MAX_BODY_BYTES = 64 * 1024  # a task is at most ~9 KB of JSON
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class RequestBodyMiddleware:
    """Reads a POST/PUT/PATCH body whole, before Connexion validates it (and after the token check):
    more than `max_bytes` is 413, so no client can make the service buffer or parse megabytes; a body
    without a Content-Type is 415 (Connexion would validate it as JSON, then hand the handler raw
    bytes); its Content-Type is normalised (`handlers.core.media_type`: `Application/JSON` is JSON, a
    malformed one or another charset is 415); a chunked body is replayed with a Content-Length, which
    Connexion needs to see it at all."""

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
        replaced = (b"content-length", b"transfer-encoding", b"content-type")
        scope["headers"] = [(k, v) for k, v in scope["headers"] if k not in replaced]
        scope["headers"].append((b"content-length", str(len(body)).encode()))
        if "content-type" in headers:
            scope["headers"].append((b"content-type", content_type(headers.getlist("content-type"))))
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await self.app(scope, replay, send)


def content_type(values: list[str]) -> bytes:
    """The one Content-Type, normalised; 415 for two of them or a malformed one."""
    if len(values) != 1:
        raise UnsupportedMediaType("A request may have one Content-Type header")
    try:
        return media_type.normalise(values[0]).encode("latin-1")
    except media_type.NotAMediaType as exc:
        raise UnsupportedMediaType(f"Content-Type: {exc}; send application/json") from None
