"""`q` on PostgreSQL: when the trigram index (migration 0006) can serve it, and the list SELECT that sorts
its matches as a set."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Integer, Select, bindparam, func, literal_column, select
from sqlalchemy.sql.util import ClauseAdapter

from models.list_filters import Filters, count_statement, order_by, where
from models.queries import PUBLIC_COLUMNS, tasks
from models.tag_summaries import TAGS

# Three letters or digits in a row: a `q` from which pg_trgm extracts a trigram to look up in
# ix_tasks_user_search (migration 0006). Shorter words (`ab`, `a b`) leave it nothing to look up.
TRIGRAM_WORD = re.compile(r"[^\W_]{3}")
# Up to this many matches, a `q` page on PostgreSQL is sorted from the matches the trigram index finds; past
# it, from the user's tasks walked in order (matches are dense there, and the walk stops at the page's end).
# For the 100,000-task user the two cost the same at ~2,300 matches; at 1,000 (1 %), 1.5 ms against 7.8 ms.
SORTED_MATCHES_MAX = 2000


def trigram_searchable(filters: Filters, dialect: str) -> bool:
    return dialect == "postgresql" and filters.q is not None and TRIGRAM_WORD.search(filters.q) is not None


def counted_first(conn: Connection, filters: Filters, shape: Filters, values: dict[str, Any]) -> int | None:
    """For a `q` the trigram index serves, the total, counted first from the index (a page of a common term
    is full, and needs the count anyway), so that the count can pick the page's plan; otherwise None."""
    if not trigram_searchable(filters, conn.dialect.name):
        return None
    return int(conn.execute(count_statement(shape), values).scalar_one())


def sorts_matches(total: int) -> bool:
    """Whether a page of `total` matches is sorted from the matches as a set (`over_matches`)."""
    return total <= SORTED_MATCHES_MAX


@functools.lru_cache(maxsize=512)
def matches_statement(shape: Filters, keys: tuple[str, ...], dialect: str) -> Select[Any]:
    offset = bindparam("offset", type_=Integer())
    return over_matches(where(shape), keys, dialect).offset(offset)


def over_matches(
    clauses: Sequence[ColumnElement[bool]], keys: Sequence[str], dialect: str, counted: bool = False
) -> Select[Any]:
    """The list SELECT over the matches as a set, in a subquery that OFFSET 0 keeps from being merged into
    the outer query: planned alone, for all their rows, they come from the trigram index, then a top-N sort.
    Left to itself the planner prefers walking ix_tasks_user_created in order and filtering (it prices an
    ILIKE at one operator), which reads ~limit / selectivity tasks: 10,000 for a term in 1 % of them. Same
    WHERE, same ORDER BY (ending with `id`), so the same rows in the same order; each with its tags.
    `counted`: the matches are capped at `:match_cap` rows (the LIMIT keeps the subquery apart as OFFSET 0
    does) and each row says how many there are, up to the cap, in `match_count` (see `counted_page`)."""
    found = select(tasks).where(*clauses)
    if counted:
        capped = found.limit(bindparam("match_cap", type_=Integer())).subquery("capped")
        matches = select(capped, func.count().over().label("match_count")).subquery("matches")
    else:
        matches = found.offset(literal_column("0")).subquery("matches")
    adapt: Any = ClauseAdapter(matches).traverse  # tasks columns to the subquery's, correlation included
    columns = [matches.c[column.name].label(column.name) for column in PUBLIC_COLUMNS]  # keys of type str
    columns += [matches.c.match_count.label("match_count")] if counted else []
    limit = bindparam("limit", type_=Integer())
    return select(*columns, adapt(TAGS[dialect])).order_by(*map(adapt, order_by(keys, dialect))).limit(limit)


def counted_values(values: dict[str, Any]) -> dict[str, Any]:
    """The parameters of a `counted` page: one match more than SORTED_MATCHES_MAX tells that there are more."""
    return {**values, "match_cap": SORTED_MATCHES_MAX + 1}


def counted_page(rows: list[dict[str, Any]]) -> int | None:
    """The total of a first page read with `counted` (its rows lose their `match_count`), or None when
    there are more than SORTED_MATCHES_MAX matches: that page is then read again, in order, and counted
    apart. For a word in one task of the 100,000-task user this is one read of the trigram index, not two
    (the count first, then the page): ~1 ms of PostgreSQL's time less."""
    counts = {row.pop("match_count") for row in rows}
    total = counts.pop() if counts else 0
    return total if sorts_matches(total) else None
