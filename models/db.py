"""The engine: one per app, sized from the settings, ready for SQLite and (Neon) PostgreSQL."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypedDict

from sqlalchemy import Connection, Engine, create_engine, event, exc
from sqlalchemy.engine import make_url

from models import pooler, waits
from models.stamps import sqlite_next_stamp

# The client-side bound on one database wait exceeds the server-side statement timeout by this much, so
# that a slow query normally ends with PostgreSQL's own cancel and a stalled network with ours.
IO_TIMEOUT_MARGIN = 2.0
# A pooled connection idle for longer than this is pinged before use; one used more recently is trusted.
# Pinging every checkout (`pool_pre_ping`) costs a round trip per request, in CPU and latency; Neon and
# PgBouncer drop connections after minutes of idleness, not seconds.
PING_AFTER_IDLE_SECONDS = 10.0


class EngineOptions(TypedDict, total=False):
    """`make_engine`'s pool and timeout arguments, as the app's settings give them."""

    pool_size: int
    max_overflow: int
    pool_timeout: float
    pool_recycle: int
    connect_timeout: int
    statement_timeout: float | None


def normalize_url(url: str) -> str:
    """Accept the URLs Neon and Heroku hand out (`postgres://`, `postgresql://`) with psycopg2."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix) :]
    return url


def make_engine(
    url: str,
    *,
    pool_size: int = 10,
    max_overflow: int = 5,
    pool_timeout: float = 5.0,
    pool_recycle: int = 300,
    connect_timeout: int = 5,
    statement_timeout: float | None = 5.0,
    autocommit: bool = False,
) -> Engine:
    """`statement_timeout=None` for tools (migrations) whose statements may legitimately run long.

    `autocommit=True` (the app's engine) makes each statement its own transaction: a read or a
    single-statement write then skips psycopg2's separate BEGIN and the COMMIT/ROLLBACK, two of a get's
    three round trips. Every write but create is one UPDATE/DELETE … RETURNING, atomic on its own, and
    under READ COMMITTED each statement of a transaction takes its own snapshot anyway. Work of more
    than one statement uses `transaction()`."""
    url = normalize_url(url)
    isolation = {"isolation_level": "AUTOCOMMIT"} if autocommit else {}
    if make_url(url).get_backend_name() == "sqlite":
        return _sqlite_engine(url, isolation)
    waits.install()
    connect_args: dict[str, Any] = {
        "connect_timeout": connect_timeout,
        "application_name": "task-api",
        "connection_factory": waits.connection_class(
            connect_timeout, None if statement_timeout is None else statement_timeout + IO_TIMEOUT_MARGIN
        ),
    }
    own_options = make_url(url).query.get("options")
    if statement_timeout is not None:
        connect_args["options"] = with_statement_timeout(own_options, statement_timeout)
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=pool_timeout,
        pool_recycle=pool_recycle,  # retire connections before a server's idle timeout does
        connect_args=connect_args,
        **isolation,
    )
    ping_when_idle(engine, PING_AFTER_IDLE_SECONDS)
    if statement_timeout is not None:  # PgBouncer may refuse `options`, or drop them: models/pooler.py
        given = " ".join([own_options] if isinstance(own_options, str) else own_options or ()) or None
        pooler.tolerate_refused_options(engine, given, statement_timeout)
        pooler.check_statement_timeout(engine, statement_timeout)
    return engine


def waits_yield(engine: Engine) -> Callable[[], bool]:
    """A check whether code using `engine` may run in a greenlet on the event loop: its database waits
    are then the loop's (`models.waits`), which holds for PostgreSQL once the engine has handed out a
    first connection. SQLite's waits (its busy timeout) block, so never. Before the first connection,
    SQLAlchemy's first-connect hooks (the dialect's initialize, with its queries) run under a threading
    lock: a greenlet waiting on the database inside it would block every other one on the loop that
    wants a connection, itself included (handlers.runtime.handler_slots)."""
    if engine.dialect.name != "postgresql":
        return lambda: False
    connected = threading.Event()
    event.listen(engine, "checkout", lambda *_: connected.set(), once=True)
    return connected.is_set


def ping_when_idle(engine: Engine, idle_seconds: float) -> None:
    """Test a connection before use when it has sat in the pool for over `idle_seconds`: Neon and other
    poolers close idle connections. A dead one is replaced (the pool retries the checkout) instead of
    failing the request. A connection that breaks while busy still fails its request with a 503, and
    SQLAlchemy then invalidates the rest of the pool."""

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        checked_in_at = record.info.get("checked_in_at")
        if checked_in_at is None or time.monotonic() - checked_in_at <= idle_seconds:
            return
        try:
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        except Exception as error:  # psycopg2 raises OperationalError or InterfaceError on a dead link
            raise exc.DisconnectionError("the pooled connection is gone") from error


# PostgreSQL's default random_page_cost (4) models spinning disks. With it, a list filtered by a tag on
# 1 % of a 100,000-task user's tasks was planned as a scan of all of them (56 ms); at 1.1, the value
# commonly used for SSDs and cached data, it reads the tag's rows through ix_task_tags_tag_task (9.6 ms).
RANDOM_PAGE_COST = 1.1


def with_statement_timeout(options: str | tuple[str, ...] | None, seconds: float) -> str:
    """libpq `options` that also set `statement_timeout` and the planner's `random_page_cost`. The URL's
    own options (Neon's `endpoint=…`, say) are kept: `connect_args` would otherwise replace them."""
    given = " ".join([options] if isinstance(options, str) else options or ())
    return f"{given} -c statement_timeout={int(seconds * 1000)} -c random_page_cost={RANDOM_PAGE_COST}".strip()


@contextmanager
def transaction(engine: Engine, begin: str | None = None) -> Iterator[Connection]:
    """One transaction on the app's autocommit engine, by plain BEGIN/COMMIT: switching the connection's
    isolation level instead costs psycopg2 a round trip each way. A failure rolls back; a connection
    that cannot even roll back is dropped, never pooled with a transaction open. On SQLite a write
    transaction takes the write lock first (BEGIN IMMEDIATE, waiting up to the busy timeout): a deferred
    one that reads and then writes fails at once ("database is locked") when another writer went first,
    which the in-process fuzz hit as a 503 on DELETE /tags/{id} beside the housekeeping purge."""
    with engine.connect() as conn:
        conn.exec_driver_sql(begin or ("BEGIN IMMEDIATE" if engine.dialect.name == "sqlite" else "BEGIN"))
        try:
            yield conn
        except BaseException:
            if not conn.invalidated:  # a dropped connection (already invalidated) has nothing to roll back
                try:
                    conn.exec_driver_sql("ROLLBACK")
                except exc.SQLAlchemyError:
                    conn.invalidate()
            raise
        conn.exec_driver_sql("COMMIT")


@contextmanager
def snapshot(engine: Engine) -> Iterator[Connection]:
    """Several reads that must see one state of the database (the change feed's three tables and its
    tasks' tags): each statement of the autocommit engine would otherwise see a later one. SQLite's
    deferred transaction keeps the snapshot of its first read (WAL)."""
    begin = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" if engine.dialect.name == "postgresql" else "BEGIN"
    with transaction(engine, begin) as conn:
        yield conn


def _sqlite_engine(url: str, isolation: dict[str, str]) -> Engine:
    connect_args = {"check_same_thread": False, "timeout": 10}
    engine = create_engine(url, pool_pre_ping=True, connect_args=connect_args, **isolation)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")  # ON DELETE CASCADE needs it
        cursor.execute("PRAGMA journal_mode = WAL")  # readers do not wait for a writer
        cursor.close()
        # SQLite's lower() (behind ILIKE) folds ASCII only; PostgreSQL's folds every script.
        dbapi_connection.create_function("lower", 1, _lower, deterministic=True)
        dbapi_connection.create_function("next_stamp", 1, sqlite_next_stamp)  # models/stamps.py

    return engine


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value
