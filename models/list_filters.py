"""What a list asks for and how it is ordered: the filters' WHERE clauses with bind parameters, and the
`sort` keys' ORDER BY (the same order on SQLite and PostgreSQL)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, String, and_, bindparam, exists, func, or_, select

from models.queries import tasks
from models.search_text import SearchTextMatches
from models.tags import task_tags

SORT_COLUMNS: dict[str, ColumnElement[Any]] = {
    "created": tasks.c.created_at,
    "updated": tasks.c.updated_at,
    "title": tasks.c.title_key,
    "due_date": tasks.c.due_date,
    "priority": tasks.c.priority_rank,
}


@dataclass(frozen=True)
class Filters:
    """What a list asks for, already cleaned by the handler (keys casefolded, times in UTC)."""

    status: str = "all"  # all | pending | completed
    priority: str | None = None
    q: str | None = None
    category_key: str | None = None
    tag_keys: tuple[str, ...] = ()  # every one of these names (casefolded)
    tag_ids: tuple[int, ...] = ()  # every one of these tags
    overdue: bool | None = None
    due_before: datetime | None = None
    due_after: datetime | None = None
    reminder_before: datetime | None = None

    @property
    def counted_by_user_row(self) -> bool:
        """Whether the counts kept on the user's row answer X-Total-Count (status is the only filter)."""
        return all(getattr(self, f.name) in (None, ()) for f in fields(self) if f.name != "status")


def sort_column(name: str, dialect: str, source: Any = None) -> ColumnElement[Any]:
    """The column `sort=name` orders by, of `tasks` or of the subquery `source` (its `.c`)."""
    column = SORT_COLUMNS[name] if source is None else source[SORT_COLUMNS[name].name]
    # Bytewise, as SQLite compares (and the collation of the title index, migration 0005).
    return column.collate("C") if name == "title" and dialect == "postgresql" else column


def order_by(keys: Sequence[str], dialect: str, source: Any = None, nulls_last: bool = True) -> list[Any]:
    """ORDER BY for `sort` keys like ["-priority", "due_date"], then `id` in the first key's direction.
    `nulls_last=False`: for rows whose due dates are all NULL or all not (an index's own order)."""
    clauses: list[Any] = []
    for key in keys:
        name = key.lstrip("-")
        column = sort_column(name, dialect, source)
        clause = column.desc() if key.startswith("-") else column.asc()
        clauses.append(clause.nulls_last() if name == "due_date" and nulls_last else clause)
    row_id = tasks.c.id if source is None else source["id"]
    clauses.append(row_id.desc() if keys[0].startswith("-") else row_id.asc())
    return clauses


def like_pattern(q: str) -> str:
    """`q` as a LIKE pattern matching it literally anywhere."""
    return "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def has_tag(tag_id: Any) -> ColumnElement[bool]:
    # Probed per candidate task through task_tags' primary key (task_id, tag_id).
    return exists().where(task_tags.c.task_id == tasks.c.id, task_tags.c.tag_id == tag_id)


def _param(name: str, kind: Any = None) -> Any:
    return bindparam(name, type_=kind if kind is not None else String())


def where(shape: Filters) -> list[ColumnElement[bool]]:
    """WHERE clauses with bind parameters for one shape of request (see `params`)."""
    clauses: list[ColumnElement[bool]] = [tasks.c.user_id == _param("user_id")]
    if shape.status != "all":
        clauses.append(tasks.c.completed == (shape.status == "completed"))
    if shape.priority is not None:
        clauses.append(tasks.c.priority == _param("priority"))
    if shape.q is not None:
        pattern = _param("pattern")
        clauses.append(or_(tasks.c.title.ilike(pattern, escape="\\"), tasks.c.description.ilike(pattern, escape="\\")))
        clauses.append(SearchTextMatches(pattern))
    if shape.category_key is not None:
        clauses.append(tasks.c.category_key == _param("category_key"))
    clauses += [has_tag(_param(f"tag_{i}", Integer())) for i in range(len(shape.tag_ids))]
    due, now = tasks.c.due_date, _param("now", tasks.c.due_date.type)
    if shape.overdue is not None:
        late = and_(due < now, tasks.c.completed.is_(False))
        clauses.append(late if shape.overdue else or_(due.is_(None), due >= now, tasks.c.completed.is_(True)))
    for name, test in (
        ("due_before", due < _param("due_before", due.type)),
        ("due_after", due > _param("due_after", due.type)),
    ):
        if getattr(shape, name) is not None:
            clauses.append(test)
    if shape.reminder_before is not None:
        reminder = tasks.c.reminder_at <= _param("reminder_before", due.type)
        clauses.append(and_(tasks.c.completed.is_(False), reminder))
    return clauses


def shape_of(filters: Filters, tag_ids: Sequence[int]) -> Filters:
    """The statement-shaping part of the filters: which are present (values become bind parameters)."""
    present: dict[str, Any] = {f.name: (None if getattr(filters, f.name) is None else "") for f in fields(filters)}
    present.update(status=filters.status, tag_keys=(), tag_ids=tuple(range(len(tag_ids))), overdue=filters.overdue)
    return Filters(**present)


def params(user_id: str, filters: Filters, tag_ids: Sequence[int], now: datetime) -> dict[str, Any]:
    values: dict[str, Any] = {"user_id": user_id, "now": now, **{f"tag_{i}": tag for i, tag in enumerate(tag_ids)}}
    values.update(
        priority=filters.priority, category_key=filters.category_key, pattern=filters.q and like_pattern(filters.q)
    )
    values.update(due_before=filters.due_before, due_after=filters.due_after, reminder_before=filters.reminder_before)
    return values


@functools.lru_cache(maxsize=512)
def count_statement(shape: Filters) -> Select[Any]:
    return select(func.count()).select_from(tasks).where(*where(shape))
