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


# Made by a migration, not declared on the models: PostgreSQL-only and optional (migration 0006 skips it
# where pg_trgm cannot be created), so `alembic check` compares it neither way.
MIGRATION_ONLY_INDEXES = {"ix_tasks_user_search"}


def include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    return not (type_ == "index" and name in MIGRATION_ONLY_INDEXES)


def configure(connection: Connection | None = None, url: str | None = None) -> None:
    context.configure(
        connection=connection,
        url=url,
        target_metadata=target_metadata,
        include_object=include_object,
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
