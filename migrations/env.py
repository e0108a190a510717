"""Alembic environment: the URL comes from the app's settings (DATABASE_URL), the target from models."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection
from sqlmodel import SQLModel

import models  # noqa: F401  (registers the tables on SQLModel.metadata)
from handlers.core.config import load_database_url
from models.db import make_engine, normalize_url

config = context.config
target_metadata = SQLModel.metadata


def database_url() -> str:
    # A URL passed in by code (tests) wins over the environment.
    return config.attributes.get("database_url") or load_database_url()


def configure(connection: Connection | None = None, url: str | None = None) -> None:
    context.configure(
        connection=connection,
        url=url,
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite can only ALTER by copying the table
        compare_type=True,
    )


def run_migrations_offline() -> None:
    configure(url=normalize_url(database_url()))
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(database_url(), statement_timeout=None)  # an index build may take minutes
    with engine.connect() as conn:
        configure(conn)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
