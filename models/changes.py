"""The change feed's statements: a user's tasks, tags and tombstones changed after a sequence number,
in change order, and the purge of old tombstones (which moves the user's purge horizon)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Integer, bindparam, delete, func, select, update

from models.queries import PUBLIC_COLUMNS, Row, tasks
from models.sync import Tombstone
from models.tags import TAG_COLUMNS, tags
from models.user import User

tombstones = Tombstone.__table__  # type: ignore[attr-defined]
users = User.__table__  # type: ignore[attr-defined]
AFTER, LIMIT = bindparam("after", type_=Integer()), bindparam("limit", type_=Integer())


def _after(table: Any, *columns: Any) -> Any:
    """Served by ix_<table>_user_change: the rows changed after `after`, oldest change first."""
    owned = (table.c.user_id == bindparam("owner_id"), table.c.change_seq > AFTER)
    return select(*columns, table.c.change_seq).where(*owned).order_by(table.c.change_seq).limit(LIMIT)


FEEDS = {
    "task": _after(tasks, *PUBLIC_COLUMNS),
    "tag": _after(tags, *TAG_COLUMNS),
    "deleted": _after(
        tombstones, tombstones.c.kind, tombstones.c.item_id, tombstones.c.version, tombstones.c.deleted_at
    ),
}
PURGED_SEQ = select(users.c.purged_seq).where(users.c.id == bindparam("owner_id"))
CUTOFF = bindparam("cutoff", type_=tombstones.c.deleted_at.type)
OLD = tombstones.c.deleted_at < CUTOFF
DELETE_OLD = delete(tombstones).where(OLD)


def changes_after(conn: Connection, user_id: str, after: int, limit: int) -> tuple[list[tuple[str, Row]], bool]:
    """Up to `limit` changes after `after` (kind, row with `change_seq`), and whether there are more."""
    params = {"owner_id": user_id, "after": after, "limit": limit + 1}
    found = [(kind, dict(row)) for kind, stmt in FEEDS.items() for row in conn.execute(stmt, params).mappings()]
    found.sort(key=lambda change: int(change[1]["change_seq"]))
    return found[:limit], len(found) > limit


def purged_seq(conn: Connection, user_id: str) -> int:
    return int(conn.execute(PURGED_SEQ, {"owner_id": user_id}).scalar() or 0)


def purge_tombstones(conn: Connection, cutoff: datetime) -> int:
    """Delete tombstones older than `cutoff`; each user's `purged_seq` becomes the highest deleted, so a
    cursor from before it is known to have missed a deletion. Run in one transaction."""
    newest = select(func.max(tombstones.c.change_seq)).where(tombstones.c.user_id == users.c.id, OLD).scalar_subquery()
    greatest = func.greatest if conn.dialect.name == "postgresql" else func.max
    affected = select(tombstones.c.user_id).where(OLD)
    conn.execute(
        update(users).where(users.c.id.in_(affected)).values(purged_seq=greatest(users.c.purged_seq, newest)),
        {"cutoff": cutoff},
    )
    return conn.execute(DELETE_OLD, {"cutoff": cutoff}).rowcount
