"""`q` on PostgreSQL goes by the trigram index of migration 0006 and returns what the scan returned; SQLite
keeps its scan. The plans are asked of a database of their own, seeded for them."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Engine, bindparam, inspect, text
from sqlalchemy.sql import Select

from models import keyset, search
from models.db import make_engine
from models.list_filters import Filters, count_statement, params, shape_of
from models.listing import list_statement, list_tasks
from models.search import matches_statement
from models.types import UTCDateTime
from tests.models.test_migrations import scratch_database
from tests.support.databases import alembic_config

ALICE_TASKS, BOB_TASKS = 10_000, 30_000
# Every hundredth title says "Invoice": 100 of alice's tasks, 300 of bob's (another user's matches).
SEED = (
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count) "
    "INSERT INTO tasks (user_id, title, title_key, description, completed, priority, priority_rank, due_date, "
    "created_at, updated_at) SELECT :user, title, lower(title), "
    "CASE WHEN i % 4 = 0 THEN NULL ELSE 'Notes ' || (i * 7907 % 100003) END, i % 3 = 0, "
    "CASE i % 5 WHEN 0 THEN 'none' WHEN 1 THEN 'low' WHEN 2 THEN 'medium' WHEN 3 THEN 'high' ELSE 'urgent' END, "
    "i % 5, CASE WHEN i % 2 = 0 THEN :t END, :t, :t "
    "FROM (SELECT i, 'Task ' || i || ' ' || (i * 7919 % 10007) || "
    "CASE WHEN i % 100 = 7 THEN ' Invoice' ELSE '' END AS title FROM n) AS numbered"
)  # title_key, priority_rank and the times stored as the app derives and stores them (cursors read them)
SPECIAL = [  # (title, description)
    ("100% done", None), ("snake_case", None), ("Éclair au café", None), ("other", "ΣΟΦΙΑ"),
    ("plain", "groceries invoice"), ("a % b", "x_y"),
]  # fmt: skip


@pytest.fixture(scope="module")
def searchable(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    scratch = scratch_database(database_url, tmp_path_factory.mktemp("search"))
    url = next(scratch)
    command.upgrade(alembic_config(url), "head")
    engine = make_engine(url)
    now, stamp = datetime.now(UTC), bindparam("t", type_=UTCDateTime())
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO users (id, created_at) VALUES ('alice', :t), ('bob', :t)"), {"t": now})
        for user, count in (("alice", ALICE_TASKS), ("bob", BOB_TASKS)):
            conn.execute(text(SEED).bindparams(stamp), {"user": user, "count": count, "t": now})
        for title, description in SPECIAL:
            conn.execute(
                text("INSERT INTO tasks (user_id, title, title_key, description, completed, priority, "
                     "priority_rank, created_at, updated_at) "
                     "VALUES ('alice', :title, :key, :description, false, 'high', 3, :t, :t)").bindparams(stamp),
                {"title": title, "key": title.casefold(), "description": description, "t": now},
            )  # fmt: skip
        conn.execute(text("ANALYZE"))
    yield engine
    engine.dispose()
    next(scratch, None)  # drops the database


def scanned(engine: Engine, q: str, keys: tuple[str, ...], limit: int, offset: int) -> tuple[list[Any], int]:
    """The page and total as the plain statements (the user's tasks filtered by ILIKE) give them."""
    filters, now = Filters(q=q), datetime.now(UTC)
    shape, values = shape_of(filters, []), params("alice", filters, [], now)
    with engine.connect() as conn:
        page = {**values, "limit": limit, "offset": offset}
        rows = conn.execute(list_statement(shape, keys, engine.dialect.name), page)
        total = conn.execute(count_statement(shape), values).scalar_one()
        return [tuple(row) for row in rows], int(total)


TERMS = ["invoice", "INVOICE", "Task 12", "notes 9", "zzqx", "ab", "100%", "snake_c", "ÉCLAIR", "σοφ", "_", "%", "a %"]


@pytest.mark.parametrize("sorted_matches_max", [0, 2000], ids=["walk-in-order", "sort-the-matches"])
@pytest.mark.parametrize("q", TERMS)
@pytest.mark.parametrize(("keys", "offset"), [(("-created",), 0), (("title",), 40), (("-priority", "due_date"), 0)])
def test_q_returns_what_the_scan_returns(
    searchable: Engine,
    monkeypatch: pytest.MonkeyPatch,
    sorted_matches_max: int,
    q: str,
    keys: tuple[str, ...],
    offset: int,
) -> None:
    """Same rows, same order, same total, whichever plan the PostgreSQL path takes (the index is an access
    path: every row it finds is rechecked by the ILIKE)."""
    monkeypatch.setattr(search, "SORTED_MATCHES_MAX", sorted_matches_max)
    expected_rows, expected_total = scanned(searchable, q, keys, 50, offset)
    with searchable.connect() as conn:
        rows, total = list_tasks(conn, "alice", Filters(q=q), keys, 50, offset, datetime.now(UTC))
    assert [tuple(row.values()) for row in rows] == expected_rows
    assert all(type(key) is str for row in rows for key in row)  # orjson takes no str subclass as a key
    if search.trigram_searchable(Filters(q=q), searchable.dialect.name):
        assert total == expected_total  # counted first
    else:
        assert total in (expected_total, None)  # None: the handler counts (a full page, or past the end)


@pytest.mark.parametrize("sorted_matches_max", [0, 2000], ids=["walk-in-order", "sort-the-matches"])
@pytest.mark.parametrize("q", ["invoice", "Task 12", "ab", "100%"])
@pytest.mark.parametrize("keys", [("-created",), ("title",), ("-priority", "due_date")])
def test_q_by_cursor_returns_what_the_scan_returns(
    searchable: Engine, monkeypatch: pytest.MonkeyPatch, sorted_matches_max: int, q: str, keys: tuple[str, ...]
) -> None:
    """The cursor path (models.keyset) takes the same two plans: its first two pages are the scan's."""
    monkeypatch.setattr(search, "SORTED_MATCHES_MAX", sorted_matches_max)
    expected_rows, expected_total = scanned(searchable, q, keys, 40, 0)
    now, position, rows, totals = datetime.now(UTC), None, [], []
    with searchable.connect() as conn:
        for _ in range(2):
            page, total, more = keyset.list_after(conn, "alice", Filters(q=q), keys, 20, position, now)
            rows, totals = rows + page, [*totals, total]
            if not more:
                break
            position = keyset.position_of(page[-1], keys)
    assert [tuple(row.values()) for row in rows] == expected_rows
    assert all(type(key) is str for row in rows for key in row)  # (no `match_count` left in a row)
    assert set(totals) <= {expected_total, None}
    if search.trigram_searchable(Filters(q=q), searchable.dialect.name):
        assert totals[0] == expected_total  # the first page's: counted with it, or first


def test_q_totals_of_the_seed(searchable: Engine) -> None:
    # The seed is what the plan test below assumes: a rare term, another user's matches, a short word.
    assert scanned(searchable, "invoice", ("-created",), 500, 0)[1] == 101  # 100 titles, one description
    assert scanned(searchable, "100%", ("-created",), 500, 0)[1] == 1
    assert scanned(searchable, "σοφ", ("-created",), 500, 0)[1] == 1


def explain(engine: Engine, statement: Select[Any], values: dict[str, Any]) -> str:
    """EXPLAIN of the statement with its parameters as psycopg2 sends them (interpolated client-side, so
    the server plans the literal pattern)."""
    compiled = statement.compile(engine)
    with engine.connect() as conn:
        return "\n".join(r[0] for r in conn.exec_driver_sql(f"EXPLAIN {compiled}", compiled.params | values))


@pytest.mark.parametrize("q", ["invoice", "zzqx-nothing"])
def test_q_is_served_by_the_trigram_index(searchable: Engine, q: str) -> None:
    if searchable.dialect.name != "postgresql":
        pytest.skip("SQLite keeps its scan of the user's tasks")
    filters = Filters(q=q)
    shape = shape_of(filters, [])
    values = search.counted_values({**params("alice", filters, [], datetime.now(UTC)), "limit": 100, "offset": 0})
    assert search.trigram_searchable(filters, "postgresql")
    first_page = keyset.page_statement(shape, ("-created",), "postgresql", None, sort_matches=True, counted=True)
    for statement in (count_statement(shape), matches_statement(shape, ("-created",), "postgresql"), first_page):
        plan = explain(searchable, statement, values)
        # One scan of the index for both columns (their joined text, models/search_text.py), not one each.
        assert plan.count("Bitmap Index Scan on ix_tasks_user_search") == 1, plan
        assert "Seq Scan on tasks" not in plan, plan  # (the tags of the page: a tiny table here)


def test_the_trigram_index_keeps_a_small_pending_list(searchable: Engine) -> None:
    """Every search reads GIN's whole pending list: with the default 4 MB, after 10,000 inserts by other
    users a one-word search of a 100,000-task user took 20.7 ms instead of 2.2 (migration 0006)."""
    if searchable.dialect.name != "postgresql":
        pytest.skip("SQLite keeps its scan of the user's tasks")
    with searchable.connect() as conn:
        options = conn.execute(text("SELECT reloptions FROM pg_class WHERE relname = 'ix_tasks_user_search'"))
        assert options.scalar_one() == ["gin_pending_list_limit=1024"]


def test_a_short_q_goes_by_the_users_btree(searchable: Engine) -> None:
    """`ab` has no trigram: not the search index (it would read all of it) but one of the user's btrees."""
    if searchable.dialect.name != "postgresql":
        pytest.skip("SQLite keeps its scan of the user's tasks")
    filters = Filters(q="ab")
    assert not search.trigram_searchable(filters, "postgresql")
    values = {**params("alice", filters, [], datetime.now(UTC)), "limit": 100, "offset": 0}
    plan = explain(searchable, list_statement(shape_of(filters, []), ("-created",), "postgresql"), values)
    assert "ix_tasks_user_search" not in plan and "Seq Scan on tasks" not in plan, plan
    assert "Index Cond: ((user_id)::text = 'alice'::text)" in plan, plan


@pytest.mark.parametrize(
    ("q", "searchable_by_trigram"),
    [("invoice", True), ("ab", False), ("a b c", False), ("100%", True), ("e_c", False), ("éc1", True), ("", False)],
)
def test_which_terms_the_trigram_index_can_serve(q: str, searchable_by_trigram: bool) -> None:
    assert search.trigram_searchable(Filters(q=q), "postgresql") is searchable_by_trigram
    assert not search.trigram_searchable(Filters(q=q), "sqlite")


def test_migration_without_the_extensions_still_succeeds(
    database_url: str, tmp_path: os.PathLike[str], caplog: pytest.LogCaptureFixture
) -> None:
    """A role that may not create extensions (no CREATE on the database): one line says why, no index,
    the schema is otherwise complete and matches the models, and downgrade works."""
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only (SQLite has no extensions to create)")
    scratch = scratch_database(database_url, tmp_path)
    url = next(scratch)
    role = f"no_ext_{uuid.uuid4().hex[:8]}"
    admin = make_engine(url)
    try:
        with admin.begin() as conn:
            conn.execute(text(f"CREATE ROLE {role} NOLOGIN"))
            conn.execute(text(f"GRANT ALL ON SCHEMA public TO {role}"))
        with admin.connect() as conn:
            conn.execute(text(f"SET ROLE {role}"))  # kept for the session, as a login as that role would be
            config = alembic_config(url)
            config.attributes["connection"] = conn
            with caplog.at_level(logging.WARNING, logger="alembic.runtime.migration"):
                command.upgrade(config, "head")
            conn.commit()
            lines = [r.getMessage() for r in caplog.records if "pg_trgm" in r.getMessage()]
            assert lines == [
                'pg_trgm/btree_gin unavailable (permission denied to create extension "pg_trgm"): '
                "no ix_tasks_user_search, q keeps scanning the user's tasks"
            ]
            assert "ix_tasks_user_search" not in {i["name"] for i in inspect(conn).get_indexes("tasks")}
            assert conn.execute(text("SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'")).scalar() == 0
            command.check(config)
            command.downgrade(config, "base")
            conn.commit()
    finally:
        admin.dispose()
        next(scratch, None)  # drops the database (and what the role owned in it)
        cleanup = make_engine(database_url)
        with cleanup.begin() as conn:
            conn.execute(text(f"DROP ROLE IF EXISTS {role}"))
        cleanup.dispose()
