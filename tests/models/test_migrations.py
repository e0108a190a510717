"""Alembic is the only way the schema is made: it must match the models and run both ways."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from models.db import make_engine, normalize_url
from models.listing import list_params, list_statement
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
    assert tables(scratch_url) == {"users", "tasks"}
    command.downgrade(config, "base")
    assert tables(scratch_url) == set()
    command.upgrade(config, "head")
    assert tables(scratch_url) == {"users", "tasks"}
    command.check(config)  # raises if the models and the migrated schema differ


def test_models_match_migrations(database_url: str) -> None:
    command.check(alembic_config(database_url))


def test_default_list_query_is_served_by_an_index(database_url: str) -> None:
    """EXPLAIN of the statement the list handler builds (not a hand-written copy of it)."""
    engine = make_engine(database_url)
    stmt = list_statement("all", False, False, ("-created",), engine.dialect.name)
    stmt = stmt.params(list_params("alice", None, None, 100, 0))
    sql = str(stmt.compile(engine, compile_kwargs={"literal_binds": True}))
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "postgresql":
                conn.execute(text("SET enable_seqscan = off"))  # the table is tiny; ask what the plan can use
                plan = "\n".join(r[0] for r in conn.execute(text(f"EXPLAIN {sql}")))
                assert "ix_tasks_user_created" in plan and "Sort" not in plan, plan
            else:
                plan = " ".join(str(r[-1]) for r in conn.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
                assert "ix_tasks_user_created" in plan and "TEMP B-TREE" not in plan, plan
    finally:
        engine.dispose()
