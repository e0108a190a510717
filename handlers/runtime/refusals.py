"""The bytes of a problem+json response for a request the app never saw (refused by the protocol)."""

from __future__ import annotations

import http
import uuid
from collections.abc import Iterable

import orjson

RETRY_AFTER_SECONDS = b"5"  # as the app's 503s (handlers.core.problems)


def problem_response(status: int, detail: str, default_headers: Iterable[tuple[bytes, bytes]]) -> bytes:
    """A whole HTTP/1.1 response, headed as the app heads its errors, that closes the connection."""
    title = http.HTTPStatus(status).phrase
    problem = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    body = orjson.dumps({**problem, "errors": [{"detail": detail}]} if status == 400 else problem)
    headers = [
        *default_headers,  # Date (and whatever the config adds), as uvicorn's own 400
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"cache-control", b"no-store"),
        (b"x-request-id", uuid.uuid4().hex.encode()),  # the request never reached the one the app sets
        (b"connection", b"close"),
        *([(b"retry-after", RETRY_AFTER_SECONDS)] if status == 503 else []),
    ]
    head = b"".join(name + b": " + value + b"\r\n" for name, value in headers)
    return b"HTTP/1.1 %d %s\r\n%s\r\n%s" % (status, title.encode(), head, body)
