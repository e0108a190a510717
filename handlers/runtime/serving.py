"""uvicorn, configured for production, on its httptools protocol with three changes: a bound on the request
head (httptools has none), problem+json for the requests it refuses before the app, and a shutdown in which
no client whose connection was accepted sees it reset (connections still in the kernel's accept queue are
accepted and served, and a connection whose first request has not arrived yet is given a moment for it)."""

from __future__ import annotations

import asyncio
import contextlib
import http
import os
import shutil
import socket
import tempfile
import uuid
from collections.abc import Iterator

import orjson
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.supervisors import Multiprocess

from handlers.core.config import Settings

MAX_HEADER_BYTES = 16 * 1024  # request line and headers together; a browser's request is a few KB
FIRST_REQUEST_GRACE_SECONDS = 1.0


class DrainingHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol (~0.1 ms CPU per request cheaper than its h11 one), plus:

    - a head bound: httptools hands the URL and header values to Python in pieces and they are joined
      there without limit (a 10 MB header was accepted), so the bytes received while a head is
      unfinished are counted and over `MAX_HEADER_BYTES` the request is answered 431;
    - problem+json, not uvicorn's plain text, for that 431 and for the 400 of unparsable HTTP;
    - at shutdown, a connection that has not sent its first request yet gets `FIRST_REQUEST_GRACE_SECONDS`
      for it (uvicorn closes it at once, and the request the client has just written meets a reset); that
      request is answered and the connection closed. Idle keep-alive connections are still closed at once."""

    head_pending = False  # between the first byte of a request and the end of its headers
    head_bytes = 0
    head_refused = False
    awaiting_first_request = False

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        # Counted after parsing, so a read that completes the head (and carries the body, up to 64 KiB, or a
        # whole request) never counts: only reads that leave a head unfinished do, each in full. With
        # pipelining a read that ends one request and starts the next counts its first part too (over-count
        # by less than one read; a client sending that much unfinished head is refused a little early).
        if self.head_pending and not self.transport.is_closing():
            self.head_bytes += len(data)
            if self.head_bytes > MAX_HEADER_BYTES and not self.head_refused:
                self.logger.warning("Request head over %d bytes refused.", MAX_HEADER_BYTES)
                self.head_refused = True
                if self.cycle is not None and not self.cycle.response_complete:
                    # A pipelined head while the request before it is still answered: its response goes
                    # first (the client pairs responses with requests in order), then the 431.
                    self.transport.pause_reading()
                else:
                    self.refuse_head()

    def refuse_head(self) -> None:
        self.send_problem(431, f"The request line and headers exceed {MAX_HEADER_BYTES} bytes")

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.head_refused and not self.transport.is_closing():
            self.refuse_head()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.head_pending, self.head_bytes = True, 0

    def on_headers_complete(self) -> None:
        self.head_pending = False
        super().on_headers_complete()
        if self.awaiting_first_request and self.cycle is not None:
            self.cycle.keep_alive = False  # the one request it came with, then close

    def send_400_response(self, msg: str) -> None:
        """What uvicorn calls when httptools cannot parse the request (it has logged `msg`)."""
        self.send_problem(400, "The request is not valid HTTP/1.1")

    def send_problem(self, status: int, detail: str) -> None:
        """Answers a request the app never saw, as the app answers errors, and closes the connection."""
        title = http.HTTPStatus(status).phrase
        body = orjson.dumps({"type": "about:blank", "title": title, "status": status, "detail": detail})
        headers = [
            *self.server_state.default_headers,  # Date (and whatever the config adds), as uvicorn's own 400
            (b"content-type", b"application/problem+json"),
            (b"content-length", str(len(body)).encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"cache-control", b"no-store"),
            (b"x-request-id", uuid.uuid4().hex.encode()),  # the request never reached the one the app sets
            (b"connection", b"close"),
        ]
        head = b"".join(name + b": " + value + b"\r\n" for name, value in headers)
        self.transport.write(b"HTTP/1.1 %d %s\r\n%s\r\n%s" % (status, title.encode(), head, body))
        self.transport.close()

    def shutdown(self) -> None:
        if self.cycle is None and not self.transport.is_closing():
            self.awaiting_first_request = True
            self.loop.call_later(FIRST_REQUEST_GRACE_SECONDS, self.stop_waiting)
            return
        super().shutdown()

    def stop_waiting(self) -> None:
        if self.cycle is None and not self.transport.is_closing():
            super().shutdown()


class DrainingServer(uvicorn.Server):
    """Closing a listening socket resets every connection still waiting in its accept queue: clients
    whose connect() had succeeded would see ECONNRESET. So on shutdown this first accepts whatever is
    queued and serves it like any other connection (uvicorn then lets every request finish and closes
    idle keep-alive connections); only connections that arrive after the listener closes are refused."""

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        loop = asyncio.get_running_loop()
        for server in self.servers:
            for listener in server.sockets:
                # A duplicate of the listening descriptor: uvloop's socket objects cannot accept().
                with socket.socket(fileno=os.dup(listener.fileno())) as sock:
                    sock.setblocking(False)
                    while True:
                        try:
                            connection, _ = sock.accept()
                        except (BlockingIOError, InterruptedError):
                            break
                        await loop.connect_accepted_socket(self.new_protocol, connection)
        # No await between the last accept above and uvicorn closing the listener in this call.
        await super().shutdown(sockets)

    def new_protocol(self) -> asyncio.Protocol:
        protocol: asyncio.Protocol = self.config.http_protocol_class(  # type: ignore[call-arg]
            config=self.config, server_state=self.server_state, app_state=self.lifespan.state
        )
        return protocol


@contextlib.contextmanager
def metrics_for(settings: Settings, workers: int) -> Iterator[None]:
    """With several workers, prometheus-client's multiprocess mode in a fresh directory (an operator's own
    PROMETHEUS_MULTIPROC_DIR is used as it is), removed when the server exits; with METRICS_PORT, the
    metrics served on that port from this process (which, with workers, reads their files)."""
    made = None
    if settings.metrics_enabled and workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        made = tempfile.mkdtemp(prefix="taskapi-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = made  # before any worker imports prometheus_client
    try:
        if settings.metrics_enabled and settings.metrics_port is not None:
            # Imported only now: prometheus-client picks its (multiprocess or not) values when first imported.
            from prometheus_client import start_http_server

            from handlers.core.metrics import registry

            start_http_server(settings.metrics_port, addr=settings.host, registry=registry())
        yield
    finally:
        if made is not None:
            os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
            shutil.rmtree(made, ignore_errors=True)


def serve(settings: Settings, workers: int) -> int:
    """Serve until SIGTERM/SIGINT; the exit status (3, as uvicorn's, when the app failed to start)."""
    with metrics_for(settings, workers):
        return serve_app(settings, workers)


def serve_app(settings: Settings, workers: int) -> int:
    config = uvicorn.Config(
        "handlers.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=workers,
        log_level=settings.log_level.lower(),
        log_config=None,  # uvicorn's lines go through the app's handler: one format for the whole stream
        server_header=False,  # no version banner
        proxy_headers=False,
        ws="none",  # the API has no WebSocket; with `websockets` installed uvicorn would answer upgrades itself
        http=DrainingHttpToolsProtocol,  # the head bound, problem+json refusals and draining: see the class
        # On SIGTERM uvicorn stops accepting, lets in-flight requests finish for up to this long, then
        # runs the lifespan shutdown, which closes the pool.
        timeout_graceful_shutdown=settings.shutdown_timeout,
    )
    if workers > 1:
        # uvicorn's supervisor makes plain uvicorn servers in its workers; see docs/operations.md.
        with contextlib.suppress(KeyboardInterrupt):
            Multiprocess(config, sockets=[config.bind_socket()]).run()
        return 0
    server = DrainingServer(config)
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    return 0 if server.started else 3
