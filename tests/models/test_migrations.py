"""Alembic is the only way the schema is made: it must match the models and run both ways."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import make_url

from models.db import make_engine, normalize_url
from models.listing import Filters, list_statement, params, shape_of
from tests.support.databases import alembic_config


@pytest.fixture
def scratch_url(database_url: str, tmp_path: os.PathLike[str]) -> Iterator[str]:
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
    assert tables(scratch_url) == {"users", "tasks", "tags", "task_tags"}
    command.downgrade(config, "base")
    assert tables(scratch_url) == set()
    command.upgrade(config, "head")
    assert tables(scratch_url) == {"users", "tasks", "tags", "task_tags"}
    command.check(config)  # raises if the models and the migrated schema differ


def test_models_match_migrations(database_url: str) -> None:
    command.check(alembic_config(database_url))


def plan_of(engine: Engine, filters: Filters, tag_ids: list[int], keys: tuple[str, ...] = ("-created",)) -> str:
    """EXPLAIN of the statement the list handler builds (not a hand-written copy of it)."""
    stmt = list_statement(shape_of(filters, tag_ids), keys, engine.dialect.name)
    stmt = stmt.params({**params("alice", filters, tag_ids, datetime.now(UTC)), "limit": 100, "offset": 0})
    sql = str(stmt.compile(engine, compile_kwargs={"literal_binds": True}))
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SET enable_seqscan = off"))  # the table is tiny; ask what the plan can use
            return "\n".join(r[0] for r in conn.execute(text(f"EXPLAIN {sql}")))
        return " ".join(str(r[-1]) for r in conn.execute(text(f"EXPLAIN QUERY PLAN {sql}")))


@pytest.mark.parametrize(
    ("filters", "tag_ids", "index"),
    [
        (Filters(), [], "ix_tasks_user_created"),
        (Filters(category_key="work"), [], "ix_tasks_user_category"),
        (Filters(tag_ids=(7,)), [7], "ix_tasks_user_created"),  # and task_tags' primary key per candidate
    ],
    ids=["default", "category", "tag"],
)
def test_list_queries_are_served_by_an_index_without_a_sort(
    database_url: str, filters: Filters, tag_ids: list[int], index: str
) -> None:
    engine = make_engine(database_url)
    try:
        plan = plan_of(engine, filters, tag_ids)
    finally:
        engine.dispose()
    assert index in plan, plan
    assert "Sort" not in plan and "TEMP B-TREE" not in plan, plan
    if tag_ids:  # each candidate's tag is an index probe, never a scan of task_tags
        assert re.search(r"Index (Only )?Scan using \w+ on task_tags|SEARCH task_tags USING", plan), plan
