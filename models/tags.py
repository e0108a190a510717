"""The tags table's statements. A tag is always looked up with its owner, so another user's tag id
behaves exactly like a missing one."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Integer, String, bindparam, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from models.clock import utc_now
from models.queries import Row, Versions
from models.stamps import after
from models.tag import Tag, TaskTag

tags = Tag.__table__  # type: ignore[attr-defined]
task_tags = TaskTag.__table__  # type: ignore[attr-defined]


class DuplicateName(Exception):
    """The user already has a tag of that name (compared case-insensitively)."""


TAG_COLUMNS = (
    tags.c.id, tags.c.name, tags.c.color, tags.c.task_count, tags.c.version, tags.c.created_at, tags.c.updated_at,
)  # fmt: skip
OWNED_TAG = (tags.c.id == bindparam("tag_id"), tags.c.user_id == bindparam("owner_id"))
IDS = bindparam("ids", expanding=True, type_=Integer())
GET_TAG = select(*TAG_COLUMNS).where(*OWNED_TAG)
OWNED_IDS = select(tags.c.id).where(tags.c.user_id == bindparam("owner_id"), tags.c.id.in_(IDS))
IDS_BY_NAME = select(tags.c.id).where(
    tags.c.user_id == bindparam("owner_id"), tags.c.name_key.in_(bindparam("keys", expanding=True, type_=String()))
)
COUNT_USER_TAGS = select(func.count()).select_from(tags).where(tags.c.user_id == bindparam("owner_id"))
DELETE_TAG = delete(tags).where(*OWNED_TAG).returning(tags.c.id)


def _insert_statement(dialect: Any) -> Any:
    # A name another request has just created is skipped, not an error: the caller then finds it.
    stamp = bindparam("now", type_=tags.c.created_at.type)
    values: dict[str, Any] = {
        "user_id": bindparam("owner_id"),
        **{name: bindparam(name) for name in ("name", "name_key", "color")},
    }
    stmt = dialect.insert(tags).values(**values, created_at=stamp, updated_at=stamp)
    return stmt.on_conflict_do_nothing(index_elements=["user_id", "name_key"]).returning(tags.c.id)


INSERT_TAG = {"postgresql": _insert_statement(postgresql), "sqlite": _insert_statement(sqlite)}


def name_key(name: str) -> str:
    return name.casefold()


def by_name(dialect: str) -> Any:
    """Order by name, case-insensitively and bytewise on both databases (as `sort=title` does)."""
    return tags.c.name_key.collate("C") if dialect == "postgresql" else tags.c.name_key


def list_tags(conn: Connection, user_id: str) -> list[Row]:
    stmt = select(*TAG_COLUMNS).where(tags.c.user_id == user_id).order_by(by_name(conn.dialect.name), tags.c.id)
    return [dict(row) for row in conn.execute(stmt).mappings()]


def get_tag(conn: Connection, user_id: str, tag_id: int) -> Row | None:
    row = conn.execute(GET_TAG, {"tag_id": tag_id, "owner_id": user_id}).mappings().first()
    return dict(row) if row else None


def count_tags(conn: Connection, user_id: str) -> int:
    return int(conn.execute(COUNT_USER_TAGS, {"owner_id": user_id}).scalar_one())


def insert_tag(conn: Connection, user_id: str, name: str, color: str | None) -> int | None:
    """The new tag's id, or None when the user has a tag of that name already."""
    params = {"owner_id": user_id, "name": name, "name_key": name_key(name), "color": color, "now": utc_now()}
    new_id: int | None = conn.execute(INSERT_TAG[conn.dialect.name], params).scalar()
    return new_id


def ids_by_names(conn: Connection, user_id: str, names: Sequence[str]) -> list[int]:
    """The ids of the user's tags with these names (case-insensitively); unknown names have none."""
    keys = sorted({name_key(name) for name in names})
    return [row[0] for row in conn.execute(IDS_BY_NAME, {"owner_id": user_id, "keys": keys})] if keys else []


def ids_for_names(conn: Connection, user_id: str, names: Sequence[str]) -> list[int]:
    """The ids of the user's tags with these names; names not used yet become new tags."""
    for name in names:
        insert_tag(conn, user_id, name, None)
    return ids_by_names(conn, user_id, names)


def owned_ids(conn: Connection, user_id: str, tag_ids: Iterable[int]) -> set[int]:
    return {row[0] for row in conn.execute(OWNED_IDS, {"owner_id": user_id, "ids": list(tag_ids)})}


def owned_tag(versions: Versions) -> list[Any]:
    return [*OWNED_TAG, *([tags.c.version.in_(versions)] if versions is not None else [])]


def update_tag(
    conn: Connection, user_id: str, tag_id: int, fields: Mapping[str, Any], versions: Versions = None
) -> bool:
    """Rename or recolour; raises DuplicateName. False when the user has no such tag (of those versions)."""
    values: dict[str, Any] = {**fields, "version": tags.c.version + 1, "updated_at": after(tags.c.updated_at)}
    if "name" in fields:
        values["name_key"] = name_key(fields["name"])
    stmt = update(tags).where(*owned_tag(versions)).values(values)
    try:  # the unique index decides, so two concurrent renames to one name cannot both succeed
        result = conn.execute(stmt, {"tag_id": tag_id, "owner_id": user_id})
    except IntegrityError:  # the transaction is aborted; the caller's `transaction()` rolls it back
        raise DuplicateName(fields.get("name", "")) from None
    return result.rowcount == 1


def delete_tag(conn: Connection, user_id: str, tag_id: int, versions: Versions = None) -> bool:
    stmt = DELETE_TAG if versions is None else delete(tags).where(*owned_tag(versions)).returning(tags.c.id)
    return conn.execute(stmt, {"tag_id": tag_id, "owner_id": user_id}).first() is not None
