"""uvicorn, configured for production, with two changes to its shutdown so that no client whose
connection was accepted sees it reset: connections still in the kernel's accept queue are accepted and
served, and a connection whose first request has not arrived yet is given a moment for it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid

import h11
import orjson
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.supervisors import Multiprocess

from handlers.config import Settings

MAX_HEADER_BYTES = 16 * 1024  # request line and headers together; a browser's request is a few KB
FIRST_REQUEST_GRACE_SECONDS = 1.0


class DrainingH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, except at shutdown for a connection that has not sent its first request
    yet: uvicorn closes it at once, and the request the client has just written meets a reset. Here it
    gets `FIRST_REQUEST_GRACE_SECONDS` to arrive, is answered, and the connection is closed. Idle
    keep-alive connections (which have served a request) are still closed at once, as HTTP allows."""

    awaiting_first_request = False

    def shutdown(self) -> None:
        if self.cycle is None and not self.transport.is_closing():
            self.awaiting_first_request = True
            self.loop.call_later(FIRST_REQUEST_GRACE_SECONDS, self.stop_waiting)
            return
        super().shutdown()

    def handle_events(self) -> None:
        super().handle_events()
        if self.awaiting_first_request and self.cycle is not None:
            self.cycle.keep_alive = False  # the one request it came with, then close

    def stop_waiting(self) -> None:
        if self.cycle is None and not self.transport.is_closing():
            super().shutdown()

    def send_400_response(self, msg: str) -> None:
        """uvicorn answers a request h11 cannot parse with a plain-text 400 before the app sees it; this
        answers with problem+json like every other error, and 431 when the head was over the bound."""
        too_large = len(self.conn.trailing_data[0]) > MAX_HEADER_BYTES
        status = 431 if too_large else 400
        title = "Request Header Fields Too Large" if too_large else "Bad Request"
        detail = (
            f"The request line and headers exceed {MAX_HEADER_BYTES} bytes"
            if too_large
            else "The request is not valid HTTP/1.1"
        )
        body = orjson.dumps({"type": "about:blank", "title": title, "status": status, "detail": detail})
        headers = [
            (b"content-type", b"application/problem+json"),
            (b"content-length", str(len(body)).encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"cache-control", b"no-store"),
            (b"x-request-id", uuid.uuid4().hex.encode()),  # the request never reached the one the app sets
            (b"connection", b"close"),
        ]
        for event in (h11.Response(status_code=status, headers=headers), h11.Data(data=body), h11.EndOfMessage()):
            self.transport.write(self.conn.send(event))
        self.transport.close()


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


def serve(settings: Settings, workers: int) -> int:
    """Serve until SIGTERM/SIGINT; the exit status (3, as uvicorn's, when the app failed to start)."""
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
        # httptools (uvicorn's default when installed) buffers a header block of any size (10 MB
        # measured); h11 refuses one over this bound with 400 and closes the connection.
        http=DrainingH11Protocol,
        h11_max_incomplete_event_size=MAX_HEADER_BYTES,
        # On SIGTERM uvicorn stops accepting, lets in-flight requests finish for up to this long, then
        # runs the lifespan shutdown, which closes the pool.
        timeout_graceful_shutdown=settings.shutdown_timeout,
    )
    if workers > 1:
        # uvicorn's supervisor makes plain uvicorn servers in its workers; see README "Operating it".
        with contextlib.suppress(KeyboardInterrupt):
            Multiprocess(config, sockets=[config.bind_socket()]).run()
        return 0
    server = DrainingServer(config)
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    return 0 if server.started else 3
