"""Bounded waits for psycopg2: no database round trip can block a request thread for ever.

PostgreSQL's `statement_timeout` cancels a slow query on the server, but it cannot help when the
network stalls or the server vanishes without a FIN/RST (a suspended Neon compute, a dead proxy): libpq
then waits in `recv()` for as long as the kernel keeps the socket, which can be hours. psycopg2 lets a
wait callback do every wait of every connection (its "green" mode); this one waits with `select()` and a
deadline, and on expiry closes the connection and raises `OperationalError`. SQLAlchemy sees a closed
connection, treats it as a disconnect and drops it from the pool; the request becomes a 503.

In a handler (a greenlet on the event loop, `handlers.runtime.handler_slots`) a wait is the
loop's: the greenlet hands the loop a readiness future for the socket and the loop runs other requests
meanwhile. Anywhere else (migrations, the housekeeping thread, tests) it is `poll()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import socket
from typing import Any

import psycopg2
from psycopg2 import extensions
from sqlalchemy.util import await_
from sqlalchemy.util.concurrency import in_greenlet


class BoundedWaitConnection(extensions.connection):
    """A psycopg2 connection whose waits are bounded: `connect_timeout` seconds while connecting (libpq
    does not apply its own in this mode), `io_timeout` seconds per wait afterwards (set per subclass)."""

    connect_timeout: float = 5.0
    io_timeout: float | None = 10.0  # None: wait as long as it takes (migrations)


def connection_class(connect_timeout: float, io_timeout: float | None) -> type[BoundedWaitConnection]:
    """A connection class for `connect_args={"connection_factory": ...}` with these bounds. A class, not
    attributes set after connecting, because the connect itself already waits through the callback."""
    bounds = {"connect_timeout": connect_timeout, "io_timeout": io_timeout}
    return type("BoundedWaitConnection", (BoundedWaitConnection,), bounds)


def bounded_wait(conn: Any) -> None:
    """psycopg2's wait callback: poll the connection until its operation completes, each wait bounded."""
    if not isinstance(conn, BoundedWaitConnection):
        timeout = None  # another factory's connection (none in this app) keeps psycopg2's usual waits
    elif conn.status == extensions.STATUS_SETUP:
        timeout = conn.connect_timeout
    else:
        timeout = conn.io_timeout
    while True:
        state = conn.poll()
        if state == extensions.POLL_OK:
            return
        if state not in (extensions.POLL_READ, extensions.POLL_WRITE):
            raise psycopg2.OperationalError(f"bad state from poll: {state}")
        writing = state == extensions.POLL_WRITE
        if in_greenlet():
            ready = await_(loop_ready(conn.fileno(), writing, timeout))
        else:
            ready = polled_ready(conn.fileno(), writing, timeout)
        if not ready:
            abandon(conn)
            raise psycopg2.OperationalError(f"no answer from the database within {timeout} s")


def polled_ready(fd: int, writing: bool, timeout: float | None) -> bool:
    """Whether `fd` became ready within `timeout` seconds, waiting in this thread."""
    # poll(), not select(): select() raises ValueError for a descriptor over 1023, which a worker with a
    # thousand client connections open hands to its next database connection.
    poller = select.poll()
    poller.register(fd, (select.POLLOUT if writing else select.POLLIN) | select.POLLERR | select.POLLHUP)
    return bool(poller.poll(None if timeout is None else timeout * 1000))


async def loop_ready(fd: int, writing: bool, timeout: float | None) -> bool:
    """Whether `fd` became ready within `timeout` seconds, waiting in the running event loop."""
    loop = asyncio.get_running_loop()
    outcome: asyncio.Future[bool] = loop.create_future()
    watch, unwatch = (loop.add_writer, loop.remove_writer) if writing else (loop.add_reader, loop.remove_reader)
    watch(fd, settle, outcome, True)  # the loop reports errors and hang-ups as readiness too
    timer = None if timeout is None else loop.call_later(timeout, settle, outcome, False)
    try:
        return await outcome
    finally:
        unwatch(fd)
        if timer is not None:
            timer.cancel()


def settle(outcome: asyncio.Future[bool], ready: bool) -> None:
    if not outcome.done():
        outcome.set_result(ready)


def abandon(conn: Any) -> None:
    """Break a connection stuck mid-exchange. `conn.close()` would deadlock here (the running query
    holds the connection's lock), so shut the socket down under libpq: its next read fails, and psycopg2
    marks the connection broken (`closed` = 2), which SQLAlchemy takes as a disconnect."""
    with socket.socket(fileno=os.dup(conn.fileno())) as sock:
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(psycopg2.Error):
        conn.poll()


def install() -> None:
    """Route every psycopg2 wait in this process through `bounded_wait` (idempotent)."""
    if extensions.get_wait_callback() is not bounded_wait:
        extensions.set_wait_callback(bounded_wait)
