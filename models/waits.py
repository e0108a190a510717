"""Bounded waits for psycopg2: no database round trip can block a request thread for ever.

PostgreSQL's `statement_timeout` cancels a slow query on the server, but it cannot help when the
network stalls or the server vanishes without a FIN/RST (a suspended Neon compute, a dead proxy): libpq
then waits in `recv()` for as long as the kernel keeps the socket, which can be hours. psycopg2 lets a
wait callback do every wait of every connection (its "green" mode); this one waits with `select()` and a
deadline, and on expiry closes the connection and raises `OperationalError`. SQLAlchemy sees a closed
connection, treats it as a disconnect and drops it from the pool; the request becomes a 503.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
from typing import Any

import psycopg2
from psycopg2 import extensions


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
    # poll(), not select(): select() raises ValueError for a descriptor over 1023, which a worker with a
    # thousand client connections open hands to its next database connection.
    waits = {extensions.POLL_READ: select.POLLIN, extensions.POLL_WRITE: select.POLLOUT}
    while True:
        state = conn.poll()
        if state == extensions.POLL_OK:
            return
        if state not in waits:
            raise psycopg2.OperationalError(f"bad state from poll: {state}")
        poller = select.poll()
        poller.register(conn.fileno(), waits[state] | select.POLLERR | select.POLLHUP)
        if not poller.poll(None if timeout is None else timeout * 1000):
            abandon(conn)
            raise psycopg2.OperationalError(f"no answer from the database within {timeout} s")


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
