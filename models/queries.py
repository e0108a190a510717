"""The tasks table's statements, as SQLAlchemy Core.

Core statements with bind parameters skip ORM object loading and session bookkeeping, which measured
~40 % of the CPU of a list request in a py-spy profile. Each change to a task row is one statement, so
concurrent requests cannot interleave a read-modify-write.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, bindparam, case, delete, insert, literal, not_, select, update

from models.clock import utc_now
from models.stamps import after
from models.task import PRIORITY_RANK, Task
from models.types import UTCDateTime

tasks = Task.__table__  # type: ignore[attr-defined]

PUBLIC_COLUMNS = (
    tasks.c.id, tasks.c.user_id, tasks.c.title, tasks.c.description, tasks.c.completed, tasks.c.priority,
    tasks.c.category, tasks.c.due_date, tasks.c.reminder_at, tasks.c.recurrence_rule, tasks.c.next_occurrence_id,
    tasks.c.client_id, tasks.c.version, tasks.c.completed_at, tasks.c.created_at, tasks.c.updated_at,
)  # fmt: skip
# What completing a recurring task needs beyond the public fields, returned by the writes that can complete.
WRITE_COLUMNS = (*PUBLIC_COLUMNS, tasks.c.series_start)
OWNED = (tasks.c.id == bindparam("task_id"), tasks.c.user_id == bindparam("owner_id"))
GET_TASK = select(*PUBLIC_COLUMNS).where(*OWNED)
DELETE_TASK = delete(tasks).where(*OWNED).returning(tasks.c.id)
# Part of the completing write's transaction: the version that write set already covers it.
SET_NEXT_OCCURRENCE = (
    update(tasks)
    .where(*OWNED, tasks.c.next_occurrence_id.is_(None))
    .values(next_occurrence_id=bindparam("next_id"))
    .returning(tasks.c.next_occurrence_id)
)
# Every column but those the database fills (id, version 1, change_seq), as bind parameters: one
# statement for every create, built once.
DATABASE_FILLED = ("id", "version", "change_seq")
INSERT_TASK = (
    insert(tasks)
    .values({c.name: bindparam(f"new_{c.name}", type_=c.type) for c in tasks.columns if c.name not in DATABASE_FILLED})
    .returning(*WRITE_COLUMNS)
)
GET_BY_CLIENT_ID = select(*WRITE_COLUMNS).where(
    tasks.c.user_id == bindparam("owner_id"), tasks.c.client_id == bindparam("client_id")
)
DEFAULTS = {
    "description": None, "completed": False, "priority": "medium", "due_date": None, "category": None,
    "recurrence_rule": None, "reminder_at": None, "next_occurrence_id": None, "series_start": None,
    "client_id": None,
}  # fmt: skip

Row = dict[str, Any]
# The versions an If-Match accepts (None: any, as without If-Match or with `*`; empty: none).
Versions = tuple[int, ...] | None


def owned(versions: Versions) -> list[ColumnElement[bool]]:
    """WHERE of a write to one task: its id and owner, and (compare-and-set) one of the versions."""
    return [*OWNED, *([tasks.c.version.in_(versions)] if versions is not None else [])]


def next_version() -> dict[str, Any]:
    """What every write statement to a task sets beside its fields."""
    return {"version": tasks.c.version + 1, "updated_at": after(tasks.c.updated_at)}


def get_task(conn: Connection, user_id: str, task_id: int) -> Row | None:
    row = conn.execute(GET_TASK, {"task_id": task_id, "owner_id": user_id}).mappings().first()
    return dict(row) if row else None


def insert_task(conn: Connection, user_id: str, fields: Mapping[str, Any]) -> Row:
    now = utc_now()
    values = {**DEFAULTS, **fields}
    values.update(derived(values), user_id=user_id, created_at=now, updated_at=now)
    values["completed_at"] = now if values["completed"] else None
    if values["recurrence_rule"] is not None and values["series_start"] is None:
        values["series_start"] = values["due_date"] or now
    row = conn.execute(INSERT_TASK, {f"new_{k}": v for k, v in values.items()}).mappings().one()
    return dict(row)


def derived(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The stored keys that follow from the given fields: casefolded title and category, priority rank."""
    values: dict[str, Any] = {}
    if "title" in fields:
        values["title_key"] = fields["title"].casefold()
    if "priority" in fields:
        values["priority_rank"] = PRIORITY_RANK[fields["priority"]]
    if "category" in fields:
        values["category_key"] = fields["category"].casefold() if fields["category"] is not None else None
    return values


def get_by_client_id(conn: Connection, user_id: str, client_id: str) -> Row | None:
    row = conn.execute(GET_BY_CLIENT_ID, {"owner_id": user_id, "client_id": client_id}).mappings().first()
    return dict(row) if row else None


def update_task(
    conn: Connection, user_id: str, task_id: int, fields: Mapping[str, Any], versions: Versions = None
) -> Row | None:
    """Change only the given fields (none at all still moves `updated_at` and `version`: the task's tags
    changed), in one statement. A new rule or due date restarts the series from the (new) due date."""
    now = utc_now()
    values: dict[str, Any] = {**fields, **derived(fields), **next_version()}
    if "completed" in fields:
        values["completed_at"] = _completed_at(fields["completed"], now)
    if "recurrence_rule" in fields or "due_date" in fields:
        due = fields.get("due_date", tasks.c.due_date)
        values["series_start"] = _coalesce(due, now)
    stmt = update(tasks).where(*owned(versions)).values(values).returning(*WRITE_COLUMNS)
    row = conn.execute(stmt, {"task_id": task_id, "owner_id": user_id}).mappings().first()
    return dict(row) if row else None


def set_completed(
    conn: Connection, user_id: str, task_id: int, completed: bool | None, versions: Versions = None
) -> Row | None:
    """Set `completed`, or toggle it when `completed` is None, atomically in the database."""
    now = utc_now()
    if completed is None:
        # Both right-hand sides read the row's old value, so this flips exactly once per statement.
        values: dict[str, Any] = {
            "completed": not_(tasks.c.completed),
            "completed_at": case((tasks.c.completed, None), else_=literal(now, UTCDateTime())),
        }
    else:
        values = {"completed": completed, "completed_at": _completed_at(completed, now)}
    stmt = update(tasks).where(*owned(versions)).values(**next_version(), **values).returning(*WRITE_COLUMNS)
    row = conn.execute(stmt, {"task_id": task_id, "owner_id": user_id}).mappings().first()
    return dict(row) if row else None


def set_next_occurrence(conn: Connection, user_id: str, task_id: int, next_id: int) -> bool:
    """Point a completed task at its next occurrence, unless it already has one (then False)."""
    params = {"task_id": task_id, "owner_id": user_id, "next_id": next_id}
    return conn.execute(SET_NEXT_OCCURRENCE, params).first() is not None


def _completed_at(completed: bool, now: datetime) -> ColumnElement[Any] | None:
    """Keep the first completion time when an already completed task is completed again."""
    if not completed:
        return None
    return case((tasks.c.completed, tasks.c.completed_at), else_=literal(now, UTCDateTime()))


def _coalesce(value: Any, now: datetime) -> Any:
    if isinstance(value, datetime) or value is None:
        return value or now
    return case((value.is_(None), literal(now, UTCDateTime())), else_=value)


def delete_task(conn: Connection, user_id: str, task_id: int, versions: Versions = None) -> bool:
    stmt = DELETE_TASK if versions is None else delete(tasks).where(*owned(versions)).returning(tasks.c.id)
    return conn.execute(stmt, {"task_id": task_id, "owner_id": user_id}).first() is not None
