"""Alembic is the only way the schema is made: it must match the models and run both ways."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Connection, Engine, Select, bindparam, event, inspect, text
from sqlalchemy.engine import make_url

from models.db import make_engine, normalize_url
from models.keyset import page_statement, position_of
from models.list_filters import Filters, params, shape_of
from models.listing import list_statement, list_tasks
from models.types import UTCDateTime
from tests.support.databases import alembic_config


@pytest.fixture
def scratch_url(database_url: str, tmp_path: os.PathLike[str]) -> Iterator[str]:
    yield from scratch_database(database_url, tmp_path)


def scratch_database(database_url: str, tmp_path: os.PathLike[str]) -> Iterator[str]:
    """An empty database of the same kind as the suite's, dropped afterwards."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path}/scratch.db"
        return
    name = f"scratch_{uuid.uuid4().hex[:12]}"
    admin = make_engine(database_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(normalize_url(database_url)).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade(scratch_url: str) -> None:
    config = alembic_config(scratch_url)
    command.upgrade(config, "head")
    assert tables(scratch_url) == {"users", "tasks", "tags", "task_tags", "tombstones", "idempotency_keys"}
    command.downgrade(config, "base")
    assert tables(scratch_url) == set()
    command.upgrade(config, "head")
    assert tables(scratch_url) == {"users", "tasks", "tags", "task_tags", "tombstones", "idempotency_keys"}
    command.check(config)  # raises if the models and the migrated schema differ


def test_models_match_migrations(database_url: str) -> None:
    command.check(alembic_config(database_url))


SEEDED_TASKS = 120_000  # 100,000 of them alice's


@pytest.fixture(scope="module")
def seeded(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A fresh database whose statistics describe a user with 100,000 tasks: a tenth in category `work`,
    a tenth tagged 7, a hundredth tagged 8. Plans are asked of it, not of the suite's database, whose
    statistics depend on the tests that ran before."""
    scratch = scratch_database(database_url, tmp_path_factory.mktemp("plans"))
    url = next(scratch)
    command.upgrade(alembic_config(url), "head")
    engine = make_engine(url)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO users (id, created_at) VALUES ('alice', :t), ('bob', :t)"), {"t": now})
        conn.execute(
            text("INSERT INTO tags (id, user_id, name, name_key, created_at, updated_at) "
                 "VALUES (7, 'alice', 'a', 'a', :t, :t), (8, 'alice', 'b', 'b', :t, :t)"),
            {"t": now},
        )  # fmt: skip
        conn.execute(
            text(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count) "
                "INSERT INTO tasks (user_id, title, title_key, completed, priority, priority_rank, category_key, "
                "due_date, created_at, updated_at) SELECT CASE WHEN i % 6 = 0 THEN 'bob' ELSE 'alice' END, 't', "
                "'t', i % 3 = 0, 'medium', 2, CASE WHEN i % 10 = 1 THEN 'work' END, CASE WHEN i % 2 = 0 THEN :t END, "
                ":t, :t FROM n"
            ).bindparams(bindparam("t", type_=UTCDateTime())),
            {"count": SEEDED_TASKS, "t": now},
        )
        conn.execute(text("INSERT INTO task_tags (task_id, tag_id) SELECT id, 7 FROM tasks WHERE id % 10 = 2"))
        conn.execute(text("INSERT INTO task_tags (task_id, tag_id) SELECT id, 8 FROM tasks WHERE id % 100 = 2"))
        conn.execute(text("ANALYZE"))
    yield engine
    engine.dispose()
    next(scratch, None)  # drops the database


def plan_of(
    engine: Engine, filters: Filters, tag_ids: list[int], keys: tuple[str, ...] = ("-created",), with_tags: bool = False
) -> str:
    """EXPLAIN of the statement the list handler builds (not a hand-written copy of it); by default
    without its tags column, whose own plan is tested apart."""
    stmt = list_statement(shape_of(filters, tag_ids), keys, engine.dialect.name, with_tags)
    stmt = stmt.params({**params("alice", filters, tag_ids, datetime.now(UTC)), "limit": 100, "offset": 0})
    sql = str(stmt.compile(engine, compile_kwargs={"literal_binds": True}))
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            return "\n".join(r[0] for r in conn.execute(text(f"EXPLAIN {sql}")))
        return " ".join(str(r[-1]) for r in conn.execute(text(f"EXPLAIN QUERY PLAN {sql}")))


@pytest.mark.parametrize(
    ("filters", "tag_ids"),
    [(Filters(), []), (Filters(category_key="work"), []), (Filters(status="pending", category_key="work"), [])],
    ids=["default", "category", "pending-category"],
)
def test_list_queries_walk_an_index_in_order(seeded: Engine, filters: Filters, tag_ids: list[int]) -> None:
    plan = plan_of(seeded, filters, tag_ids)
    assert ("ix_tasks_user_category" if filters.category_key else "ix_tasks_user_created") in plan, plan
    assert "Sort" not in plan and "TEMP B-TREE" not in plan, plan


def test_each_rows_tags_are_read_through_indexes(seeded: Engine) -> None:
    """The tags column (models.tag_summaries): per row, task_tags' rows of that task by its primary key
    (the tags table itself is scanned or probed by id, as its size makes cheaper); the page itself
    still walks the index in order."""
    plan = plan_of(seeded, Filters(), [], with_tags=True)
    assert re.search(r"task_tags_pkey|SEARCH task_tags USING COVERING INDEX \S+ \(task_id=\?\)", plan), plan
    assert not re.search(r"Seq Scan on (tasks|task_tags)|SCAN (tasks|task_tags)(?! USING)", plan), plan
    assert "ix_tasks_user_created" in plan, plan


@pytest.mark.parametrize("tag_ids", [[7], [8], [7, 8]], ids=["common-tag", "rare-tag", "two-tags"])
def test_tag_filters_are_index_served(seeded: Engine, tag_ids: list[int]) -> None:
    """Either the user's tasks in order, each candidate probing task_tags' primary key, or (for a rare
    tag) the tag's rows from ix_task_tags_tag_task, then their tasks by id: the planner picks the cheaper,
    and neither reads all of the user's tasks."""
    plan = plan_of(seeded, Filters(tag_ids=tuple(tag_ids)), tag_ids)
    assert not re.search(r"Seq Scan on tasks|SCAN tasks(?! USING)", plan), plan
    assert re.search(r"(ix_tasks_user_created|tasks_pkey|INTEGER PRIMARY KEY)", plan), plan
    assert re.search(r"(task_tags_pkey|ix_task_tags_tag_task|SEARCH task_tags USING)", plan), plan


def explained(engine: Engine, statement: Select[Any], values: dict[str, Any]) -> str:
    """The plan of `statement` as executed (its parameters bound by SQLAlchemy's own types)."""
    plan: list[str] = []

    def explain(conn: Connection, cursor: Any, sql: str, parameters: Any, *_: Any) -> None:
        postgresql = engine.dialect.name == "postgresql"
        cursor.execute(("EXPLAIN " if postgresql else "EXPLAIN QUERY PLAN ") + sql, parameters)
        plan.extend(str(row[0] if postgresql else row[-1]) for row in cursor.fetchall())

    with engine.connect() as conn:
        event.listen(conn, "before_cursor_execute", explain)
        conn.execute(statement, values)
    return "\n".join(plan)


@pytest.mark.parametrize(
    ("sort", "depth", "index"),
    [("created", 70_000, "ix_tasks_user_created"), ("-created", 70_000, "ix_tasks_user_created"),
     ("updated", 70_000, "ix_tasks_user_updated"), ("-updated", 70_000, "ix_tasks_user_updated"),
     ("title", 70_000, "ix_tasks_user_title"), ("-title", 70_000, "ix_tasks_user_title"),
     ("priority", 70_000, "ix_tasks_user_priority"), ("-priority", 70_000, "ix_tasks_user_priority"),
     ("due_date", 30_000, "ix_tasks_user_due"), ("-due_date", 30_000, "ix_tasks_user_due"),
     ("due_date", 70_000, "ix_tasks_user_due"), ("-due_date", 70_000, "ix_tasks_user_due")],
)  # fmt: skip
def test_deep_cursor_pages_are_index_ranges(seeded: Engine, sort: str, depth: int, index: str) -> None:
    """A cursor 70,000 tasks deep (30,000: among the dated half, 70,000: the undated) is the start of a
    range of the sort key's index: no sort, and no reading of the rows before it."""
    keys, now = (sort,), datetime.now(UTC)
    with seeded.connect() as conn:
        (row,), _ = list_tasks(conn, "alice", Filters(), keys, 1, depth, now)
    position = position_of(row, keys)
    nulls = tuple(value is None for value in position.values)
    values = {**params("alice", Filters(), [], now), "limit": 101, "after_id": position.id, "k0": position.values[0]}
    statement = page_statement(shape_of(Filters(), []), keys, seeded.dialect.name, nulls, with_tags=False)
    plan = explained(seeded, statement, values)
    lines = plan.splitlines()
    if seeded.dialect.name == "postgresql":
        scans = [line for line in lines if "Scan" in line]
        assert scans and all(re.search(rf"Index Scan (Backward )?using {index} ", line) for line in scans), plan
        bounds = [line for line in lines if "Index Cond" in line]
        # The position bounds the index range: a row comparison, or `id > …` among the undated rows.
        assert re.search(r"ROW\(|\(id [<>] ", bounds[0] if nulls[0] else "\n".join(bounds)), plan
        # No sort but, for due dates, one of at most 2 x 101 rows above the two regions' ordered reads.
        sorts = [i for i, line in enumerate(lines) if re.search(r"(^|->)\s*Sort\s+\(cost", line)]
        appends = [i for i, line in enumerate(lines) if "Append" in line]
        assert all(appends and i < appends[0] for i in sorts), plan
    else:
        # SQLite: each read searches an index (for the undated rows alone, maybe the id's), in its order;
        # a union's arms sort their ≤ 101 rows (SCAN anon_… USE TEMP B-TREE) for the outer NULLS LAST.
        reads = [line for line in lines if "tasks" in line]
        assert reads and all(re.match(rf"SEARCH tasks USING (INDEX {index}|INTEGER PRIMARY KEY) ", r) for r in reads)
        assert all("TEMP B-TREE" not in line or lines[i - 1].startswith("SCAN anon") for i, line in enumerate(lines))
