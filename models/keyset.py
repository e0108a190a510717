"""Keyset (cursor) pages: the rows after the previous page's last row in the order of the `sort` keys and
`id`, found by comparing with that row's values, so rows created or deleted elsewhere never shift a page
(an OFFSET does: it counts rows). Each shape of request is built once, like the offset list."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Connection,
    Integer,
    Select,
    and_,
    bindparam,
    or_,
    select,
    tuple_,
    type_coerce,
    union_all,
)

from models import search
from models.list_filters import SORT_COLUMNS, Filters, order_by, params, shape_of, sort_column
from models.list_filters import where as filtered
from models.listing import fetch_rows, tag_ids_for
from models.queries import PUBLIC_COLUMNS, Row, tasks
from models.search import over_matches
from models.tag_summaries import TAGS, JSONText
from models.task import PRIORITY_RANK

# The value of each sort key for a row as the API returns it (the stored keys are derived alike).
KEY_OF_ROW: dict[str, Callable[[Row], Any]] = {
    "created": lambda row: row["created_at"],
    "updated": lambda row: row["updated_at"],
    "title": lambda row: row["title"].casefold(),
    "due_date": lambda row: row["due_date"],
    "priority": lambda row: PRIORITY_RANK[row["priority"]],
}


@dataclass(frozen=True)
class Position:
    """Where a page ended: its last row's sort key values (None: no due date) and id."""

    values: tuple[datetime | str | int | None, ...]
    id: int


def position_of(row: Row, keys: Sequence[str]) -> Position:
    return Position(tuple(KEY_OF_ROW[key.lstrip("-")](row) for key in keys), int(row["id"]))


# A comparison's column, whether descending, the value's bind parameter, and whether that value is NULL
# (None: the column cannot be NULL here).
Term = tuple[ColumnElement[Any], bool, BindParameter[Any], bool | None]


def after(terms: Sequence[Term]) -> ColumnElement[bool]:
    """The rows strictly after the values in the order of `terms` (NULLs last in either direction)."""
    (first, descending, value, _), *_rest = terms
    if len(terms) == 1:
        return first < value if descending else first > value
    if len({term[1] for term in terms}) == 1 and all(term[3] is None for term in terms):
        # One row comparison: PostgreSQL bounds an index range on (user_id, key, id) with it; the OR form
        # below is not an index bound, and would make a deep page read every row before it.
        columns, values = tuple_(*(term[0] for term in terms)), tuple_(*(term[2] for term in terms))
        return columns < values if descending else columns > values
    # Mixed directions (or a due date past the first key): lexicographic; only the first key bounds an index.
    alternatives: list[ColumnElement[bool]] = []
    equal: list[ColumnElement[bool]] = []
    for column, down, param, null in terms:
        beyond: ColumnElement[bool] | None = column < param if down else column > param
        if null is not None:  # nothing comes after a NULL, and NULLs come after every value
            beyond = None if null else or_(column < param if down else column > param, column.is_(None))
        if beyond is not None:
            alternatives.append(and_(*equal, beyond))
        equal.append(column.is_(None) if null else column == param)
    return and_(first <= value if descending else first >= value, or_(*alternatives))


def terms_of(keys: Sequence[str], dialect: str, nulls: Sequence[bool]) -> list[Term]:
    terms: list[Term] = []
    for i, key in enumerate(keys):
        name = key.lstrip("-")
        value = bindparam(f"k{i}", type_=SORT_COLUMNS[name].type)
        terms.append((sort_column(name, dialect), key.startswith("-"), value, nulls[i] if name == "due_date" else None))
    return [*terms, (tasks.c.id, keys[0].startswith("-"), bindparam("after_id", type_=Integer()), None)]


@functools.lru_cache(maxsize=512)
def page_statement(
    shape: Filters,
    keys: tuple[str, ...],
    dialect: str,
    nulls: tuple[bool, ...] | None,
    with_tags: bool = True,
    sort_matches: bool = False,
    counted: bool = False,
) -> Select[Any]:
    """The page after a position whose values are NULL where `nulls` says (None: the first page), each row
    with its tags (`with_tags=False`: without them, for the tests of the plan's reads of tasks).
    `sort_matches`: the matches found as a set, then sorted (see models.search.over_matches), `counted`
    with their number (a first page only)."""
    tags_column = [TAGS[dialect]] if with_tags else []
    limit = bindparam("limit", type_=Integer())
    terms = terms_of(keys, dialect, nulls or (False,) * len(keys))
    if keys[0].lstrip("-") != "due_date":
        bound = [] if nulls is None else [after(terms)]
        if sort_matches:
            return over_matches([*filtered(shape), *bound], keys, dialect, counted=counted)
        page = select(*PUBLIC_COLUMNS, *tags_column).where(*filtered(shape), *bound)
        return page.order_by(*order_by(keys, dialect)).limit(limit)
    # NULL due dates come last either way, but an index keeps them at one end (read backwards, first): the
    # dated rows, then the undated ones, each read in its index's own order (no NULLS LAST to sort by).
    due, (_, descending, value, _), rest = tasks.c.due_date, terms[0], terms[1:]
    regions = [[due.is_(None), *([after(rest)] if nulls and nulls[0] else [])]]
    if not (nulls and nulls[0]):
        dated = [due.is_not(None), *([after([(due, descending, value, None), *rest])] if nulls else [])]
        regions.insert(0, dated)
    in_index_order = order_by(keys, dialect, nulls_last=False)
    public = {column.name for column in PUBLIC_COLUMNS}
    extra = [column for key in keys if (column := SORT_COLUMNS[key.lstrip("-")]).name not in public]
    reads = [
        select(*PUBLIC_COLUMNS, *tags_column, *extra).where(*filtered(shape), *region).order_by(*in_index_order)
        for region in regions
    ]
    if len(reads) == 1:
        return reads[0].with_only_columns(*PUBLIC_COLUMNS, *tags_column).limit(limit)
    both = union_all(*(select(read.limit(limit).subquery()) for read in reads)).subquery()
    # Labelled: keys orjson takes (str); the tags were built in the reads, JSON text decoded once here.
    outer = [both.c[column.name].label(column.name) for column in PUBLIC_COLUMNS]
    outer += [type_coerce(both.c.tags, JSONText()).label("tags")] if with_tags else []
    return select(*outer).order_by(*order_by(keys, dialect, both.c)).limit(limit)


def list_after(
    conn: Connection,
    user_id: str,
    filters: Filters,
    keys: Sequence[str],
    limit: int,
    position: Position | None,
    now: datetime,
) -> tuple[list[Row], int | None, bool]:
    """The page after `position` (None: the first), the total when a first page is all, and whether
    more rows follow (one more is read, so that a full last page gets no `next` to an empty one)."""
    tag_ids = tag_ids_for(conn, user_id, filters)
    if tag_ids is None:
        return [], 0, False
    values = {**params(user_id, filters, tag_ids, now), "limit": limit + 1}
    nulls = None
    if position is not None:
        values.update({f"k{i}": value for i, value in enumerate(position.values)}, after_id=position.id)
        nulls = tuple(value is None for value in position.values)
    shape, total = shape_of(filters, tag_ids), None
    dialect, by_due_date = conn.dialect.name, keys[0].lstrip("-") == "due_date"
    if position is None and not by_due_date and search.trigram_searchable(filters, dialect):
        statement = page_statement(shape, tuple(keys), dialect, None, sort_matches=True, counted=True)
        rows = fetch_rows(conn, statement, search.counted_values(values))
        if (total := search.counted_page(rows)) is not None:
            return rows[:limit], total, len(rows) > limit
    if not by_due_date:  # (a due-date page is its two index-ordered reads)
        total = search.counted_first(conn, filters, shape, values)
    sort_matches = total is not None and search.sorts_matches(total)
    statement = page_statement(shape, tuple(keys), dialect, nulls, sort_matches=sort_matches)
    rows = fetch_rows(conn, statement, values)
    more = len(rows) > limit
    if total is None and position is None and not more:
        total = len(rows)
    return rows[:limit], total, more
