"""Request bodies read whole and bounded before Connexion sees them."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from handlers.core.problems import PayloadTooLarge, UnsupportedMediaType

MAX_BODY_BYTES = 64 * 1024  # a task is at most ~9 KB of JSON
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


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
