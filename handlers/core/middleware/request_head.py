"""Request heads refused before routing: paths no URL can name, and ambiguous credentials."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from handlers.core.problems import BadRequest, NotFound

DOT_SEGMENTS = frozenset({".", ".."})


class RequestHeadMiddleware:
    """- A path with a `.` or `..` segment (percent-encoded ones included: `scope["path"]` is decoded) is
      404: every URL resolver removes those segments (RFC 3986 §5.2.4), so a `Location` or `Link` under
      one (`/api/../tasks/1`) would take the client somewhere else. No route has one.
    - Two `Authorization` headers are 400 (RFC 6750 §3.1 `invalid_request`): which credential counts would
      be a guess (Connexion took the first), and the header is not a list (RFC 9110 §5.3)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            if not DOT_SEGMENTS.isdisjoint(scope["path"].split("/")):
                raise NotFound(f"No route for {scope['path']}")
            if sum(1 for name, _ in scope["headers"] if name == b"authorization") > 1:
                raise BadRequest("The request has more than one Authorization header; send one")
        await self.app(scope, receive, send)
