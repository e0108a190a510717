"""uvicorn's httptools protocol, bounded: what a connection may take (bytes, seconds, company) before it is
answered or closed, problem+json for what is refused before the app, and a shutdown that resets nobody."""

from __future__ import annotations

from asyncio import TimerHandle
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from handlers.runtime.refusals import problem_response

MAX_HEADER_BYTES = 16 * 1024  # request line and headers together; a browser's request is a few KB
FIRST_REQUEST_GRACE_SECONDS = 1.0
HTTP_VERSIONS = ("1.0", "1.1")  # httptools reports a request line without a version as "0.9"


@dataclass(frozen=True)
class ConnectionLimits:
    """From the settings (HTTP_*); see `serving.ServingConfig`, which carries them to every worker."""

    idle_seconds: float = 5.0  # before a first request (and, as uvicorn's keep-alive timeout, between requests)
    head_seconds: float = 10.0  # from a request's first byte to the end of its headers
    body_seconds: float = 30.0  # from the end of the headers to the end of the body
    max_connections: int = 1000  # open connections per worker; the first request of one more is a 503


class DrainingHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol (~0.1 ms CPU per request cheaper than its h11 one), plus:

    - a head bound: httptools hands the URL and header values to Python in pieces and they are joined
      there without limit (a 10 MB header was accepted), so the bytes received while a head is
      unfinished are counted and over `MAX_HEADER_BYTES` the request is answered 431;
    - deadlines, each total (a byte a second does not extend them): a connection that sends nothing is
      closed after `idle_seconds`, a head not complete after `head_seconds` is a 408, a body not complete
      after `body_seconds` a 408 (or, when the app has answered already, a close); uvicorn bounds only
      the idle time after a response (its keep-alive timeout), and 750 trickling connections stayed open;
    - past `max_connections` open connections in this worker, a new one's first request is a 503;
    - requests that are not HTTP/1.x: without a version (read as 0.9) 400, HTTP/2.0 505 (uvicorn served both);
    - problem+json, not uvicorn's plain text, for all of these and for the 400 of unparsable HTTP;
    - at shutdown, a connection that has not sent its first request yet gets `FIRST_REQUEST_GRACE_SECONDS`
      for it (uvicorn closes it at once, and the request the client has just written meets a reset); that
      request is answered and the connection closed. Idle keep-alive connections are still closed at once."""

    head_pending = False  # between the first byte of a request and the end of its headers
    head_bytes = 0
    refusal: tuple[int, str] | None = None  # an answer waiting for the response before it (pipelining)
    awaiting_first_request = False
    over_capacity = False
    deadline: TimerHandle | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits: ConnectionLimits = getattr(self.config, "connection_limits", ConnectionLimits())

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self.over_capacity = len(self.connections) > self.limits.max_connections
        self.arm(self.limits.idle_seconds, self.idle_timed_out)

    def connection_lost(self, exc: Exception | None) -> None:
        self.disarm()
        super().connection_lost(exc)

    def arm(self, seconds: float, callback: Callable[[], None]) -> None:
        self.disarm()
        self.deadline = self.loop.call_later(seconds, callback)

    def disarm(self) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        # Counted after parsing, so a read that completes the head (and carries the body, up to 64 KiB, or a
        # whole request) never counts: only reads that leave a head unfinished do, each in full. With
        # pipelining a read that ends one request and starts the next counts its first part too (over-count
        # by less than one read; a client sending that much unfinished head is refused a little early).
        if self.head_pending and not self.transport.is_closing():
            self.head_bytes += len(data)
            if self.head_bytes > MAX_HEADER_BYTES and self.refusal is None:
                self.logger.warning("Request head over %d bytes refused.", MAX_HEADER_BYTES)
                self.refuse(431, f"The request line and headers exceed {MAX_HEADER_BYTES} bytes")

    def refuse(self, status: int, detail: str) -> None:
        self.disarm()
        self.refusal = (status, detail)
        if self.cycle is not None and not self.cycle.response_complete:
            # A pipelined head while the request before it is still answered: its response goes first (the
            # client pairs responses with requests in order), then this one.
            self.transport.pause_reading()
        else:
            self.send_problem(status, detail)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.refusal is not None and not self.transport.is_closing():
            self.send_problem(*self.refusal)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.head_pending, self.head_bytes = True, 0
        self.arm(self.limits.head_seconds, self.head_timed_out)

    def on_headers_complete(self) -> None:
        self.head_pending = False
        self.arm(self.limits.body_seconds, self.body_timed_out)  # disarmed when the message is complete
        version = self.parser.get_http_version()
        if version not in HTTP_VERSIONS:
            if version == "0.9":
                self.refuse(400, "The request line has no HTTP version; send HTTP/1.1")
            else:
                self.refuse(505, f"HTTP/{version} is not supported here; send HTTP/1.1")
            return
        if self.over_capacity and self.cycle is None:
            self.logger.warning("Connection refused: over %d open connections.", self.limits.max_connections)
            self.refuse(503, "The service is busy; try again shortly")
            return
        super().on_headers_complete()
        if self.awaiting_first_request and self.cycle is not None:
            self.cycle.keep_alive = False  # the one request it came with, then close

    def on_message_complete(self) -> None:
        self.disarm()
        if self.refusal is None:  # a refused request has no cycle of its own
            super().on_message_complete()

    def on_body(self, body: bytes) -> None:
        if self.refusal is None:
            super().on_body(body)

    def idle_timed_out(self) -> None:
        if self.cycle is None and not self.transport.is_closing():
            self.transport.close()  # nothing was asked, so nothing to answer

    def head_timed_out(self) -> None:
        if self.head_pending and not self.transport.is_closing() and self.refusal is None:
            self.logger.warning("Request head not complete after %s s.", self.limits.head_seconds)
            self.refuse(408, f"The request line and headers did not arrive within {self.limits.head_seconds} s")

    def body_timed_out(self) -> None:
        cycle = self.cycle
        if cycle is None or self.transport.is_closing():
            return
        if cycle.response_started:  # the app answered without the body: only the connection is left
            if cycle.response_complete:
                self.transport.close()
            else:
                cycle.keep_alive = False
            return
        self.logger.warning("Request body not complete after %s s.", self.limits.body_seconds)
        # The app is waiting for the body: it now receives a disconnect, and anything it sends is dropped.
        cycle.disconnected = True
        cycle.message_event.set()
        self.send_problem(408, f"The request body did not arrive within {self.limits.body_seconds} s")

    def send_400_response(self, msg: str) -> None:
        """What uvicorn calls when httptools cannot parse the request (it has logged `msg`)."""
        self.send_problem(400, "The request is not valid HTTP/1.1")

    def send_problem(self, status: int, detail: str) -> None:
        """Answers a request the app never saw, as the app answers errors, and closes the connection."""
        self.disarm()
        self.transport.write(problem_response(status, detail, self.server_state.default_headers))
        self.transport.close()

    def shutdown(self) -> None:
        if self.cycle is None and not self.transport.is_closing():
            self.awaiting_first_request = True
            self.loop.call_later(FIRST_REQUEST_GRACE_SECONDS, self.stop_waiting)
            return
        super().shutdown()

    def stop_waiting(self) -> None:
        if self.cycle is None and not self.transport.is_closing():
            self.logger.warning(
                "Shutdown: no request within %s s of it; connection closed.", FIRST_REQUEST_GRACE_SECONDS
            )
            super().shutdown()
