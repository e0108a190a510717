"""`updated_at` taken inside the write statement, strictly after the row's previous value.

Taken in Python before the UPDATE, a write stamped earlier could commit later: in 30 rounds of 20
concurrent PUTs on one task, the stored `updated_at` was older than an acknowledged write in 11 to 18
rounds. Inside the statement the stamp is read under the row's lock (PostgreSQL re-evaluates SET for the
newest row version after waiting for it; SQLite has one writer at a time), and `previous + 1 µs` makes it
strictly increase in commit order even when two writes land in the same clock tick.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from models.types import UTCDateTime

SQLITE_FORMAT = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores a DateTime on SQLite: fixed width
TICK = timedelta(microseconds=1)


class next_stamp(FunctionElement[datetime]):
    """The stamp for a row whose current stamp is the argument column."""

    type = UTCDateTime()
    inherit_cache = True
    name = "next_stamp"


@compiles(next_stamp, "postgresql")
def _postgresql(element: next_stamp, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    return f"GREATEST(clock_timestamp(), {column} + interval '1 microsecond')"


@compiles(next_stamp, "sqlite")
def _sqlite(element: next_stamp, compiler: Any, **kw: Any) -> str:
    return f"next_stamp({compiler.process(element.clauses, **kw)})"  # the function below


def sqlite_next_stamp(previous: str | None) -> str:
    """Registered on every SQLite connection (models/db.py) as `next_stamp(text)`."""
    now = datetime.now(UTC).replace(tzinfo=None)
    if previous is not None:
        now = max(now, datetime.fromisoformat(previous) + TICK)
    return now.strftime(SQLITE_FORMAT)


def after(column: ColumnElement[Any]) -> next_stamp:
    return next_stamp(column)
