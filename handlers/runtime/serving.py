"""uvicorn, configured for production, on the bounded httptools protocol of `protocol.py`, with a shutdown
in which no client whose connection was accepted sees it reset (connections still in the kernel's accept
queue are accepted and served), with one worker process or several (`workers.py`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from typing import Any

import uvicorn

from handlers.core.config import Settings
from handlers.runtime.protocol import ConnectionLimits, DrainingHttpToolsProtocol

log = logging.getLogger(__name__)


class ServingConfig(uvicorn.Config):
    """uvicorn's Config plus the connection limits the protocol reads: an attribute of the config, so it
    travels with it to each worker process (which unpickles it)."""

    def __init__(self, *args: Any, connection_limits: ConnectionLimits, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.connection_limits = connection_limits


class DrainingServer(uvicorn.Server):
    """Closing a listening socket resets every connection still waiting in its accept queue: clients
    whose connect() had succeeded would see ECONNRESET. So on shutdown this first accepts whatever is
    queued and serves it like any other connection (uvicorn then lets every request finish and closes
    idle keep-alive connections); only connections that arrive after the listener closes are refused."""

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # Duplicates of the listening descriptors: uvloop's socket objects cannot accept(), and while a
        # duplicate is open the listening socket stays open, so it can be drained once more after the
        # servers have been closed (uvloop closes their descriptors on a later loop iteration, and a
        # connection that arrived meanwhile was reset: one in 177 under CI's load).
        duplicates = [
            socket.socket(fileno=os.dup(listener.fileno())) for server in self.servers for listener in server.sockets
        ]
        drained = await self.hand_over([connection for sock in duplicates for connection in self.queued(sock)])
        for server in self.servers:
            server.close()
        for _ in range(3):
            await asyncio.sleep(0)
        last = []
        for sock in duplicates:
            last += self.queued(sock)
            sock.close()  # the listening socket closes here, with no await since its last accept()
        drained += await self.hand_over(last)
        log.info("Listener drained (%d queued connections accepted); closing it", drained)
        await super().shutdown(sockets)

    def queued(self, sock: socket.socket) -> list[socket.socket]:
        """The connections queued on the listener now, accepted without an await: a client that gets its
        answer meanwhile and connects again is not among them. (Accepting and serving one at a time let 16
        reconnecting writers keep a drain, and SIGTERM, going for 11.6 s: 6,289 connections in CI.) At most
        a backlog's worth, in case the kernel keeps queueing."""
        sock.setblocking(False)
        accepted = []
        for _ in range(self.config.backlog):
            try:
                accepted.append(sock.accept()[0])
            except OSError:  # nothing queued (EAGAIN), or the socket is gone
                break
        return accepted

    async def hand_over(self, connections: list[socket.socket]) -> int:
        """Serve accepted connections like any other (uvicorn then lets their requests finish)."""
        loop = asyncio.get_running_loop()
        for connection in connections:
            await loop.connect_accepted_socket(self.new_protocol, connection)
        return len(connections)

    def new_protocol(self) -> asyncio.Protocol:
        protocol: asyncio.Protocol = self.config.http_protocol_class(  # type: ignore[call-arg]
            config=self.config, server_state=self.server_state, app_state=self.lifespan.state
        )
        return protocol


def connection_limits(settings: Settings) -> ConnectionLimits:
    return ConnectionLimits(
        idle_seconds=settings.http_idle_timeout,
        head_seconds=settings.http_head_timeout,
        body_seconds=settings.http_body_timeout,
        max_connections=settings.http_max_connections,
    )


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
    config = ServingConfig(
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
        http=DrainingHttpToolsProtocol,  # bounds, problem+json refusals and draining: see the class
        connection_limits=connection_limits(settings),
        # uvicorn's own bound on an idle keep-alive connection; the protocol applies it before a first
        # request too. (Its `limit_concurrency` is not used: it answers text/plain and counts requests in
        # flight, which the handler slots bound already.)
        timeout_keep_alive=settings.http_idle_timeout,  # typed int; a float works (it goes to call_later)
        # On SIGTERM uvicorn stops accepting, lets in-flight requests finish for up to this long, then
        # runs the lifespan shutdown, which closes the pool.
        timeout_graceful_shutdown=settings.shutdown_timeout,
    )
    if workers > 1:
        from handlers.runtime.workers import serve_workers

        return serve_workers(config)
    server = DrainingServer(config)
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    return 0 if server.started else 3
