"""The test databases: migrated by Alembic (the only way the schema is made), reached directly or
through a proxy, and locked by a test that needs a request to wait."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import make_url

from models.db import make_engine

ROOT = Path(__file__).resolve().parents[2]
PG_URL = os.environ.get("TEST_DATABASE_URL", "")
# TEST_PGBOUNCER=1: the PostgreSQL tests reach PG_URL's server through a real PgBouncer (tests/conftest.py).
THROUGH_PGBOUNCER = bool(PG_URL) and os.environ.get("TEST_PGBOUNCER", "") not in ("", "0")


def alembic_config(url: str) -> Config:
    config = Config(toml_file=str(ROOT / "pyproject.toml"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["database_url"] = url
    return config


def migrated(url: str) -> str:
    command.upgrade(alembic_config(url), "head")
    return url


def with_port(url: str, port: int) -> str:
    """The PostgreSQL URL with its host:port replaced by 127.0.0.1:port (the proxy)."""
    scheme, _, rest = url.partition("://")
    credentials, at, location = rest.rpartition("@")
    path = location.partition("/")[2]
    return f"{scheme}://{credentials}{at}127.0.0.1:{port}/{path}"


@contextlib.contextmanager
def tasks_write_locked(url: str) -> Iterator[None]:
    """Hold a lock that makes every write to `tasks` wait (reads too, on PostgreSQL) until the block ends:
    PostgreSQL's ACCESS EXCLUSIVE table lock, or SQLite's database write lock (BEGIN IMMEDIATE)."""
    if make_url(url).get_backend_name() == "sqlite":
        conn = sqlite3.connect(make_url(url).database or "", isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            yield
            conn.execute("ROLLBACK")
        finally:
            conn.close()
        return
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("LOCK TABLE tasks IN ACCESS EXCLUSIVE MODE"))
            yield
    finally:
        engine.dispose()
