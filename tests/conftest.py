"""Fixtures: every test runs on SQLite, and on PostgreSQL too when TEST_DATABASE_URL is set. With
TEST_PGBOUNCER=1 as well, the tests run only on that PostgreSQL reached through a real PgBouncer in
transaction mode (tests/support/pgbouncer.py): `.ci/run` does so for writes, counts, concurrency and faults.

Each backend's database is migrated once per session with Alembic (the only way the schema is made);
each test gets a fresh app, with response validation on, over emptied tables.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
from alembic import command
from sqlalchemy import Engine, text
from starlette.testclient import TestClient

from handlers.app import create_app
from handlers.core.config import Settings
from models.db import make_engine
from tests.support.databases import PG_URL, THROUGH_PGBOUNCER, alembic_config
from tests.support.helpers import SECRET
from tests.support.jwks_server import JwksServer
from tests.support.pgbouncer import pgbouncer

BACKENDS = ["pgbouncer"] if THROUGH_PGBOUNCER else ["sqlite"] + (["postgresql"] if PG_URL else [])


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'tasks.db'}"
        else:
            url = PG_URL if request.param == "postgresql" else stack.enter_context(pgbouncer(PG_URL)).url
            command.downgrade(alembic_config(url), "base")  # start from nothing, whatever ran before
        command.upgrade(alembic_config(url), "head")
        yield url


@pytest.fixture(scope="session")
def postgres_url(database_url: str) -> str:
    """The test database when it is PostgreSQL; the tests that need its pool, statement timeout, locks or
    parallel writers are skipped on SQLite."""
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only (pool, statement timeout, a proxy in front of it, parallel writers)")
    return database_url


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(better_auth_secret=SECRET, database_url=database_url, validate_responses=True, log_level="DEBUG")


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    engine = make_engine(settings.database_url)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM idempotency_keys"))
        conn.execute(text("DELETE FROM task_tags"))
        conn.execute(text("DELETE FROM tags"))
        conn.execute(text("DELETE FROM tasks"))
        conn.execute(text("DELETE FROM users"))
    yield engine
    engine.dispose()


@pytest.fixture
def client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture(scope="module")
def direct(database_url: str) -> Iterator[Engine]:
    """The test database as the tests see it (never through a proxy), for the tests of live servers."""
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def jwks() -> Iterator[JwksServer]:
    """A JWKS endpoint on 127.0.0.1 that the test controls."""
    server = JwksServer().start()
    yield server
    server.stop()
