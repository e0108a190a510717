"""The list query: one page (by offset) of the filtered, sorted tasks, and the count behind X-Total-Count."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Integer, Select, bindparam, select

from models import search
from models.list_filters import Filters, count_statement, order_by, params, shape_of, where
from models.queries import PUBLIC_COLUMNS, Row
from models.tag_summaries import TAGS
from models.tags import ids_by_names, tags
from models.user import User

users = User.__table__  # type: ignore[attr-defined]


@functools.lru_cache(maxsize=512)
def list_statement(shape: Filters, keys: tuple[str, ...], dialect: str, with_tags: bool = True) -> Select[Any]:
    """The list SELECT for one shape of request, built once per shape: building and cache-keying a new
    statement per request was ~10 % of a list's CPU. Each row comes with its tags (no second statement
    for the page); `with_tags=False` is the same SELECT without them, for the tests of its plan."""
    limit, offset = bindparam("limit", type_=Integer()), bindparam("offset", type_=Integer())
    columns = (*PUBLIC_COLUMNS, TAGS[dialect]) if with_tags else PUBLIC_COLUMNS
    return select(*columns).where(*where(shape)).order_by(*order_by(keys, dialect)).limit(limit).offset(offset)


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
    if (total := search.counted_first(conn, filters, shape, values)) is not None:
        if offset >= total:
            return [], total
        if search.sorts_matches(total):
            statement = search.matches_statement(shape, tuple(keys), conn.dialect.name)
        return fetch_rows(conn, statement, values), total
    rows = fetch_rows(conn, statement, values)
    short_page = len(rows) < limit and (rows or offset == 0)
    return rows, (offset + len(rows) if short_page else None)


USER_COUNTS = select(users.c.task_count, users.c.completed_count).where(users.c.id == bindparam("user_id"))
# `?tag_ids=7` alone: the tag's own count (kept by triggers, migration 0007) is the total; looked up with
# its owner, so another user's tag counts 0. In `make bench` the 100,000-task user's tag-filtered page was
# 253 ms p50 with a COUNT over the user's tasks, and 15 ms with an index-only scan of the tag's 10,000
# task_tags entries.
ONE_TAG_COUNT = select(tags.c.task_count).where(
    tags.c.id == bindparam("tag_id"), tags.c.user_id == bindparam("user_id")
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
        return int(conn.execute(ONE_TAG_COUNT, {"tag_id": tag_ids[0], "user_id": user_id}).scalar() or 0)
    return int(
        conn.execute(count_statement(shape_of(filters, tag_ids)), params(user_id, filters, tag_ids, now)).scalar_one()
    )
