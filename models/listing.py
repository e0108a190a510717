"""The list query: filters, the `sort` keys' ORDER BY, and the count behind X-Total-Count."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    exists,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy.sql.util import ClauseAdapter

from models.queries import PUBLIC_COLUMNS, Row, tasks
from models.tag_summaries import TAGS
from models.tags import ids_by_names, tags, task_tags
from models.user import User

users = User.__table__  # type: ignore[attr-defined]

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
def list_statement(shape: Filters, keys: tuple[str, ...], dialect: str, with_tags: bool = True) -> Select[Any]:
    """The list SELECT for one shape of request, built once per shape: building and cache-keying a new
    statement per request was ~10 % of a list's CPU. Each row comes with its tags (no second statement
    for the page); `with_tags=False` is the same SELECT without them, for the tests of its plan."""
    limit, offset = bindparam("limit", type_=Integer()), bindparam("offset", type_=Integer())
    columns = (*PUBLIC_COLUMNS, TAGS[dialect]) if with_tags else PUBLIC_COLUMNS
    return select(*columns).where(*where(shape)).order_by(*order_by(keys, dialect)).limit(limit).offset(offset)


@functools.lru_cache(maxsize=512)
def count_statement(shape: Filters) -> Select[Any]:
    return select(func.count()).select_from(tasks).where(*where(shape))


# Three letters or digits in a row: a `q` from which pg_trgm extracts a trigram to look up in
# ix_tasks_user_search (migration 0006). Shorter words (`ab`, `a b`) leave it nothing to look up.
TRIGRAM_WORD = re.compile(r"[^\W_]{3}")
# Up to this many matches, a `q` page on PostgreSQL is sorted from the matches the trigram index finds; past
# it, from the user's tasks walked in order (matches are dense there, and the walk stops at the page's end).
# For the 100,000-task user the two cost the same at ~2,300 matches; at 1,000 (1 %), 1.5 ms against 7.8 ms.
SORTED_MATCHES_MAX = 2000


def trigram_searchable(filters: Filters, dialect: str) -> bool:
    return dialect == "postgresql" and filters.q is not None and TRIGRAM_WORD.search(filters.q) is not None


@functools.lru_cache(maxsize=512)
def matches_statement(shape: Filters, keys: tuple[str, ...], dialect: str) -> Select[Any]:
    offset = bindparam("offset", type_=Integer())
    return over_matches(where(shape), keys, dialect).offset(offset)


def over_matches(clauses: Sequence[ColumnElement[bool]], keys: Sequence[str], dialect: str) -> Select[Any]:
    """The list SELECT over the matches as a set, in a subquery that OFFSET 0 keeps from being merged into
    the outer query: planned alone, for all their rows, they come from the trigram index, then a top-N sort.
    Left to itself the planner prefers walking ix_tasks_user_created in order and filtering (it prices an
    ILIKE at one operator), which reads ~limit / selectivity tasks: 10,000 for a term in 1 % of them. Same
    WHERE, same ORDER BY (ending with `id`), so the same rows in the same order; each with its tags."""
    matches = select(tasks).where(*clauses).offset(literal_column("0")).subquery("matches")
    adapt: Any = ClauseAdapter(matches).traverse  # tasks columns to the subquery's, correlation included
    columns = [matches.c[column.name].label(column.name) for column in PUBLIC_COLUMNS]  # keys of type str
    limit = bindparam("limit", type_=Integer())
    return select(*columns, adapt(TAGS[dialect])).order_by(*map(adapt, order_by(keys, dialect))).limit(limit)


def tag_ids_for(conn: Connection, user_id: str, filters: Filters) -> list[int] | None:
    """The tag ids the filters require (`tag_ids`, and `tag` names resolved), or None when a named tag
    does not exist, so that nothing can match."""
    ids = set(filters.tag_ids)
    if filters.tag_keys:
        found = ids_by_names(conn, user_id, filters.tag_keys)
        if len(found) < len(set(filters.tag_keys)):
            return None
        ids.update(found)
    return sorted(ids)


def fetch_rows(conn: Connection, statement: Select[Any], values: dict[str, Any]) -> list[Row]:
    result = conn.execute(statement, values)
    names = tuple(result.keys())
    # All rows in one fetch, zipped with the names once: a RowMapping and dict() per row (and a
    # fetchone() per row when iterating) measured ~2x the CPU for a page of 50.
    return [dict(zip(names, row, strict=True)) for row in result.all()]


def list_tasks(
    conn: Connection, user_id: str, filters: Filters, keys: Sequence[str], limit: int, offset: int, now: datetime
) -> tuple[list[Row], int | None]:
    """One page, and the total when it needs no COUNT (a short page, or the counts on the user's row), or
    when it was counted first (a `q` that the trigram index serves)."""
    tag_ids = tag_ids_for(conn, user_id, filters)
    if tag_ids is None:
        return [], 0
    shape = shape_of(filters, tag_ids)
    values = {**params(user_id, filters, tag_ids, now), "limit": limit, "offset": offset}
    statement = list_statement(shape, tuple(keys), conn.dialect.name)
    if trigram_searchable(filters, conn.dialect.name):
        # Counted first, from the trigram index (a page of a common term is full, and needs the count
        # anyway); the count picks the plan of the page.
        total = int(conn.execute(count_statement(shape), values).scalar_one())
        if offset >= total:
            return [], total
        if total <= SORTED_MATCHES_MAX:
            statement = matches_statement(shape, tuple(keys), conn.dialect.name)
        return fetch_rows(conn, statement, values), total
    rows = fetch_rows(conn, statement, values)
    short_page = len(rows) < limit and (rows or offset == 0)
    return rows, (offset + len(rows) if short_page else None)


USER_COUNTS = select(users.c.task_count, users.c.completed_count).where(users.c.id == bindparam("user_id"))
# `?tag_ids=7` alone: the tag's rows in task_tags are the count (only its owner's tasks carry it; the join
# keeps another user's tag at 0). An index-only scan of ix_task_tags_tag_task instead of a COUNT over the
# user's tasks: in `make bench`, the 100,000-task user's tag-filtered page was 253 ms p50 with that COUNT.
ONE_TAG_COUNT = (
    select(func.count())
    .select_from(task_tags.join(tags, tags.c.id == task_tags.c.tag_id))
    .where(task_tags.c.tag_id == bindparam("tag_id"), tags.c.user_id == bindparam("user_id"))
)


def count_tasks(conn: Connection, user_id: str, filters: Filters, now: datetime) -> int:
    """How many tasks match: filtered by `status` alone, from the counts triggers keep on the user's row
    (one row read, whatever the number of tasks); otherwise a COUNT over the matches."""
    if filters.counted_by_user_row:
        row = conn.execute(USER_COUNTS, {"user_id": user_id}).first()
        total, completed = row if row else (0, 0)
        return {"all": total, "completed": completed, "pending": total - completed}[filters.status]
    tag_ids = tag_ids_for(conn, user_id, filters)
    if tag_ids is None:
        return 0
    if len(tag_ids) == 1 and filters.status == "all" and replace(filters, tag_ids=(), tag_keys=()).counted_by_user_row:
        return int(conn.execute(ONE_TAG_COUNT, {"tag_id": tag_ids[0], "user_id": user_id}).scalar_one())
    return int(
        conn.execute(count_statement(shape_of(filters, tag_ids)), params(user_id, filters, tag_ids, now)).scalar_one()
    )
