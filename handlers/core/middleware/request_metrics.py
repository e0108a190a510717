"""Request counts, latency and requests in flight for Prometheus, and `GET /metrics` to read them."""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from handlers.core import metrics
from handlers.runtime.request_scope import operation_of, share_extensions

METRICS_PATH = "/metrics"


class RequestMetricsMiddleware:
    """The outermost layer, so every response counts, the errors' too. With `serve_metrics`, `GET /metrics`
    (no token; keep it off the public internet) answers the Prometheus text format."""

    def __init__(self, app: ASGIApp, serve_metrics: bool) -> None:
        self.app = app
        self.serve_metrics = serve_metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.serve_metrics and scope["path"] == METRICS_PATH and scope["method"] in ("GET", "HEAD"):
            await serve_metrics(send)
            return
        started = time.perf_counter()
        share_extensions(scope)

        async def send_observed(message: Message) -> None:
            if message["type"] == "http.response.start":
                count, latency = metrics.request_series(operation_of(scope), f"{message['status'] // 100}xx")
                count.inc()
                latency.observe(time.perf_counter() - started)
            await send(message)

        metrics.IN_FLIGHT.inc()
        try:
            await self.app(scope, receive, send_observed)
        finally:
            metrics.IN_FLIGHT.dec()


async def serve_metrics(send: Send) -> None:
    body, content_type = metrics.exposition()
    headers = [
        (b"content-type", content_type.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        (b"x-content-type-options", b"nosniff"),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
