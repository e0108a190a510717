"""The idempotency_keys table's statements. A key is claimed inside the transaction of the write it
guards, and that transaction stores the response too: a request that fails rolls its claim back with
everything else, so a corrected retry runs, and a crash can leave no claim behind."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError

from models.sync import IdempotencyKey

keys = IdempotencyKey.__table__  # type: ignore[attr-defined]
THE_KEY = (keys.c.user_id == bindparam("owner_id"), keys.c.key == bindparam("the_key"))
# PostgreSQL: how long a retry waits for the first request with its key to commit before it is told
# that request is still in flight (409). Parallel retries within it get the stored response.
IN_FLIGHT_WAIT = "2s"


class InFlight(Exception):
    """Another request with this key has not finished."""


@dataclass(frozen=True)
class Stored:
    fingerprint: str
    status: int | None
    headers: str | None
    body: bytes | None


def _claim_statement(dialect: Any) -> Any:
    values = {
        name: bindparam(f"new_{name}", type_=keys.c[name].type) for name in ("fingerprint", "locked_at", "expires_at")
    }
    stmt = dialect.insert(keys).values(user_id=bindparam("owner_id"), key=bindparam("the_key"), **values)
    return stmt.on_conflict_do_nothing(index_elements=["user_id", "key"]).returning(keys.c.key)


CLAIM = {"postgresql": _claim_statement(postgresql), "sqlite": _claim_statement(sqlite)}
STORED = select(keys.c.fingerprint, keys.c.status, keys.c.headers, keys.c.body, keys.c.expires_at).where(*THE_KEY)
RENEW = update(keys).where(*THE_KEY).values(
    fingerprint=bindparam("new_fingerprint"), status=None, headers=None, body=None,
    locked_at=bindparam("new_locked_at", type_=keys.c.locked_at.type),
    expires_at=bindparam("new_expires_at", type_=keys.c.expires_at.type),
)  # fmt: skip
STORE = update(keys).where(*THE_KEY).values({name: bindparam(f"new_{name}") for name in ("status", "headers", "body")})
PURGE = delete(keys).where(keys.c.expires_at < bindparam("now", type_=keys.c.expires_at.type))


def claim(
    conn: Connection, user_id: str, key: str, fingerprint: str, now: datetime, expires_at: datetime
) -> Stored | None:
    """Claim the key for this request (None), or the outcome stored by the request that claimed it.
    Waits while that request is in flight; raises InFlight when it waits too long."""
    params = {"owner_id": user_id, "the_key": key, "new_fingerprint": fingerprint, "new_locked_at": now}
    params["new_expires_at"] = expires_at
    postgres = conn.dialect.name == "postgresql"
    try:
        if postgres:
            conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{IN_FLIGHT_WAIT}'")
        claimed = conn.execute(CLAIM[conn.dialect.name], params).first() is not None
        if postgres:
            conn.exec_driver_sql("SET LOCAL lock_timeout TO DEFAULT")
    except OperationalError as error:
        if getattr(error.orig, "pgcode", None) == "55P03":  # lock_not_available
            raise InFlight from None
        raise
    if claimed:
        return None
    row = conn.execute(STORED, {"owner_id": user_id, "the_key": key}).one()
    if row.expires_at <= now:  # an expired key is a new one
        conn.execute(RENEW, params)
        return None
    return Stored(row.fingerprint, row.status, row.headers, row.body)


def store(conn: Connection, user_id: str, key: str, status: int, headers: str, body: bytes) -> None:
    params = {"owner_id": user_id, "the_key": key, "new_status": status, "new_headers": headers, "new_body": body}
    conn.execute(STORE, params)


def purge_expired(conn: Connection, now: datetime) -> int:
    return conn.execute(PURGE, {"now": now}).rowcount
