"""The tasks table's statements, as SQLAlchemy Core.

Core statements with bind parameters skip ORM object loading and session bookkeeping, which measured
~40 % of the CPU of a list request in a py-spy profile. Each change to a task row is one statement, so
concurrent requests cannot interleave a read-modify-write.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, Connection, bindparam, case, delete, insert, not_, select, update

from models.clock import utc_now
from models.stamps import after
from models.tag_summaries import RETURNING, TAGS
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
# The request's time and an If-Match's versions, as bind parameters of the cached write statements.
NOW = bindparam("now", type_=UTCDateTime())
VERSIONS: BindParameter[int] = bindparam("versions", expanding=True)

OWNED = (tasks.c.id == bindparam("task_id"), tasks.c.user_id == bindparam("owner_id"))
# By dialect: with the task's tags (models.tag_summaries), so a get is one statement.
GET_TASK = {dialect: select(*PUBLIC_COLUMNS, column).where(*OWNED) for dialect, column in TAGS.items()}
DELETE_TASK = delete(tasks).where(*OWNED).returning(tasks.c.id)
DELETE_TASK_IF_VERSION = delete(tasks).where(*OWNED, tasks.c.version.in_(VERSIONS)).returning(tasks.c.id)
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


def owned(checks_version: bool, unless_recurring: bool = False) -> list[ColumnElement[bool]]:
    """WHERE of a write to one task: its id and owner, (compare-and-set, `checks_version`) one of the
    versions given as the `versions` parameter, and (`unless_recurring`) no recurrence rule."""
    clauses = [*OWNED, *([tasks.c.version.in_(VERSIONS)] if checks_version else [])]
    return clauses + ([tasks.c.recurrence_rule.is_(None)] if unless_recurring else [])


def next_version() -> dict[str, Any]:
    """What every write statement to a task sets beside its fields."""
    return {"version": tasks.c.version + 1, "updated_at": after(tasks.c.updated_at)}


def get_task(conn: Connection, user_id: str, task_id: int) -> Row | None:
    row = conn.execute(GET_TASK[conn.dialect.name], {"task_id": task_id, "owner_id": user_id}).mappings().first()
    return dict(row) if row else None


def insert_task(conn: Connection, user_id: str, fields: Mapping[str, Any]) -> Row:
    now = utc_now()
    values = {**DEFAULTS, **fields}
    values.update(derived(values), user_id=user_id, created_at=now, updated_at=now)
    values["completed_at"] = now if values["completed"] else None
    if values["recurrence_rule"] is not None and values["series_start"] is None:
        values["series_start"] = values["due_date"] or now
    row = conn.execute(INSERT_TASK, {f"new_{k}": v for k, v in values.items()}).mappings().one()
    return {**row, "tags": []}  # a new row has no tags yet


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
    conn: Connection,
    user_id: str,
    task_id: int,
    fields: Mapping[str, Any],
    versions: Versions = None,
    with_tags: bool = False,
    unless_recurring: bool = False,
) -> Row | None:
    """Change only the given fields (none at all still moves `updated_at` and `version`: the task's tags
    changed), in one statement. A new rule or due date restarts the series from the (new) due date.
    `with_tags`: the row comes with its tags, for a caller that changes none of them after this.
    `unless_recurring`: a task with a recurrence rule is left alone (None), as a missing one."""
    now = utc_now()
    values = {**fields, **derived(fields)}
    if "due_date" in fields:
        values["series_start"] = fields["due_date"] or now
    shape = (frozenset(values), fields.get("completed"), "recurrence_rule" in fields and "due_date" not in fields)
    checks = (versions is not None, unless_recurring)
    stmt = _update_statement(*shape, *checks, conn.dialect.name if with_tags else None)
    params = {"task_id": task_id, "owner_id": user_id, "now": now, "versions": versions or ()}
    row = conn.execute(stmt, {**params, **{f"new_{k}": v for k, v in values.items()}}).mappings().first()
    return dict(row) if row else None


@functools.lru_cache(maxsize=512)
def _update_statement(
    names: frozenset[str],
    completed: bool | None,
    restarts_at_due: bool,
    checks_version: bool,
    unless_recurring: bool,
    tags_of: str | None,
) -> Any:
    """The UPDATE for one shape of PUT/PATCH (which fields, and the values that shape SET), built once:
    building and cache-keying it per request was 6 % of an update's samples in a py-spy profile."""
    values: dict[str, Any] = {name: bindparam(f"new_{name}", type_=tasks.c[name].type) for name in names}
    values.update(next_version())
    if completed is not None:
        values["completed_at"] = _completed_at(completed)
    if restarts_at_due:  # a new rule alone: the series restarts at the stored due date, or now
        values["series_start"] = case((tasks.c.due_date.is_(None), NOW), else_=tasks.c.due_date)
    returning = (*WRITE_COLUMNS, *(RETURNING[tags_of] if tags_of else ()))
    return update(tasks).where(*owned(checks_version, unless_recurring)).values(values).returning(*returning)


def set_completed(
    conn: Connection,
    user_id: str,
    task_id: int,
    completed: bool | None,
    versions: Versions = None,
    unless_recurring: bool = False,
) -> Row | None:
    """Set `completed`, or toggle it when `completed` is None, atomically in the database."""
    stmt = _completion_statement(completed, versions is not None, unless_recurring, conn.dialect.name)
    params = {"task_id": task_id, "owner_id": user_id, "now": utc_now(), "versions": versions or ()}
    row = conn.execute(stmt, params).mappings().first()
    return dict(row) if row else None


@functools.lru_cache(maxsize=16)
def _completion_statement(completed: bool | None, checks_version: bool, unless_recurring: bool, dialect: str) -> Any:
    if completed is None:
        # Both right-hand sides read the row's old value, so this flips exactly once per statement.
        values: dict[str, Any] = {
            "completed": not_(tasks.c.completed),
            "completed_at": case((tasks.c.completed, None), else_=NOW),
        }
    else:
        values = {"completed": completed, "completed_at": _completed_at(completed)}
    returning = (*WRITE_COLUMNS, *RETURNING[dialect])
    where = owned(checks_version, unless_recurring)
    return update(tasks).where(*where).values(**next_version(), **values).returning(*returning)


def set_next_occurrence(conn: Connection, user_id: str, task_id: int, next_id: int) -> bool:
    """Point a completed task at its next occurrence, unless it already has one (then False)."""
    params = {"task_id": task_id, "owner_id": user_id, "next_id": next_id}
    return conn.execute(SET_NEXT_OCCURRENCE, params).first() is not None


def _completed_at(completed: bool) -> ColumnElement[Any] | None:
    """Keep the first completion time when an already completed task is completed again."""
    if not completed:
        return None
    return case((tasks.c.completed, tasks.c.completed_at), else_=NOW)


def delete_task(conn: Connection, user_id: str, task_id: int, versions: Versions = None) -> bool:
    stmt = DELETE_TASK if versions is None else DELETE_TASK_IF_VERSION
    return conn.execute(stmt, {"task_id": task_id, "owner_id": user_id, "versions": versions or ()}).first() is not None
