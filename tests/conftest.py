"""Fixtures: every test runs on SQLite, and on PostgreSQL too when TEST_DATABASE_URL is set.

Each backend's database is migrated once per session with Alembic (the only way the schema is made);
each test gets a fresh app, with response validation on, over emptied tables.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text
from starlette.testclient import TestClient

from handlers.app import create_app
from handlers.config import Settings
from models.db import make_engine
from tests.helpers import SECRET

ROOT = Path(__file__).resolve().parent.parent
BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


def alembic_config(url: str) -> Config:
    config = Config(toml_file=str(ROOT / "pyproject.toml"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["database_url"] = url
    return config


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'tasks.db'}"
    else:
        url = os.environ["TEST_DATABASE_URL"]
        command.downgrade(alembic_config(url), "base")  # start from nothing, whatever ran before
    command.upgrade(alembic_config(url), "head")
    return url


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(better_auth_secret=SECRET, database_url=database_url, validate_responses=True, log_level="DEBUG")


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    engine = make_engine(settings.database_url)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM tasks"))
        conn.execute(text("DELETE FROM users"))
    yield engine
    engine.dispose()


@pytest.fixture
def client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client
