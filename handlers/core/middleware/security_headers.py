"""Security headers on every response, the ones the app writes and the ones its error handlers do."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from handlers.core.urls import DOCS_PATHS, DOCS_PREFIX

# Every API response is either a user's private data, an error about a user's request, or the health
# of this instance right now: none may be stored by a browser or a shared cache. Only the docs (the
# spec and Swagger UI) are the same for everyone; they keep whatever caching their handler chose.


class SecurityHeadersMiddleware:
    """`X-Content-Type-Options: nosniff` everywhere (a browser never runs a JSON body as something
    else) and `Cache-Control: no-store` on everything but the docs."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        # Exact matches: a prefix test would also match a user id starting with "ui" (/api/uiZ7kq/tasks).
        no_store = not (path in DOCS_PATHS or path.startswith(DOCS_PREFIX))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Content-Type-Options"] = "nosniff"
                if no_store:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)
