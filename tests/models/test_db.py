"""The engine: bounded waits (pool, statement, descriptors), pings after idleness, autocommit and transactions, URLs."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from starlette.testclient import TestClient

from handlers import app as app_module
from handlers.app import create_app
from handlers.core.config import Settings
from models import db
from models.db import make_engine, with_statement_timeout
from tests.support.databases import THROUGH_PGBOUNCER
from tests.support.helpers import SECRET, assert_problem, auth

# PgBouncer takes `options` away (tests/models/test_pgbouncer.py), and its server connections are not the client's.
direct_only = pytest.mark.skipif(THROUGH_PGBOUNCER, reason="about a direct PostgreSQL connection")


@pytest.fixture
def captured_engine(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Engine]]:
    """The real engine the app builds, so a test can hold its connections."""
    engines: list[Engine] = []
    real = app_module.engine_for

    def capture(settings: Settings) -> Engine:
        engines.append(real(settings))
        return engines[-1]

    monkeypatch.setattr(app_module, "engine_for", capture)
    yield engines
    for engine in engines:
        engine.dispose()


def test_an_exhausted_pool_is_a_quick_503(postgres_url: str, engine: Engine, captured_engine: list[Engine]) -> None:
    settings = Settings(
        better_auth_secret=SECRET,
        database_url=postgres_url,
        validate_responses=True,
        db_pool_size=1,
        db_max_overflow=0,
        db_pool_timeout=0.5,
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        assert client.get("/api/health").status_code == 200
        with captured_engine[0].connect():  # the pool's only connection, held
            response = client.get("/api/alice/tasks", headers=auth())
            health = client.get("/api/health")
        assert_problem(response, 503)
        assert response.headers["retry-after"] == "5"
        assert health.status_code == 503
        assert client.get("/api/alice/tasks", headers=auth()).status_code == 200  # free again, fine again


@direct_only
def test_statement_timeout_is_set_on_every_connection(postgres_url: str) -> None:
    engine = make_engine(postgres_url, statement_timeout=1.5)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SHOW statement_timeout")).scalar_one() == "1500ms"
            with pytest.raises(Exception, match="statement timeout"):
                conn.execute(text("SELECT pg_sleep(3)"))
    finally:
        engine.dispose()


def test_migrations_have_no_statement_timeout(postgres_url: str) -> None:
    engine = make_engine(postgres_url, statement_timeout=None)  # as migrations/env.py makes it
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SHOW statement_timeout")).scalar_one() == "0"
            assert conn.execute(text("SELECT pg_sleep(0.1)")).scalar_one() == ""
    finally:
        engine.dispose()


def test_statement_timeout_keeps_the_urls_own_options() -> None:
    assert with_statement_timeout(None, 5) == "-c statement_timeout=5000 -c random_page_cost=1.1"
    assert (
        with_statement_timeout("endpoint=ep-x", 2.5)
        == "endpoint=ep-x -c statement_timeout=2500 -c random_page_cost=1.1"
    )


@pytest.mark.parametrize("idle_seconds", [0.0, 3600.0])
@direct_only
def test_a_connection_closed_while_idle_is_replaced_before_use(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch, idle_seconds: float
) -> None:
    """What Neon does to an idle pooled connection, done with pg_terminate_backend: past the idle
    threshold the checkout pings and replaces it; within it (3600 s here) the dead one is used and fails,
    which is what shows the ping is what saves the request."""
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", idle_seconds)
    engine, admin = make_engine(postgres_url, pool_size=1, max_overflow=0), make_engine(postgres_url)
    try:
        with engine.connect() as conn:
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with admin.connect() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid}).scalar_one()
        with engine.connect() as conn:
            if idle_seconds:
                with pytest.raises(DBAPIError):
                    conn.execute(text("SELECT pg_backend_pid()"))
            else:
                assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() != pid
    finally:
        engine.dispose()
        admin.dispose()


def test_the_apps_engine_commits_each_statement_and_transaction_spans_several(database_url: str) -> None:
    """The app's engine is autocommit (a read or one-statement write skips BEGIN and COMMIT); work of
    several statements, like create's user upsert and insert, still commits or rolls back as one."""
    engine = make_engine(database_url, autocommit=True)
    insert = text("INSERT INTO users (id, created_at) VALUES (:id, CURRENT_TIMESTAMP)")
    count = text("SELECT count(*) FROM users WHERE id LIKE 'tx-%'")
    try:
        with engine.connect() as conn:
            conn.execute(insert, {"id": "tx-single"})  # no commit: autocommit kept it

        def two_inserts_then_a_failure() -> None:
            with db.transaction(engine) as conn:
                conn.execute(insert, {"id": "tx-first"})
                conn.execute(insert, {"id": "tx-second"})
                raise RuntimeError("the work after the second statement failed")

        with pytest.raises(RuntimeError):
            two_inserts_then_a_failure()
        with db.transaction(engine) as conn:
            conn.execute(insert, {"id": "tx-third"})
        with engine.connect() as conn:
            assert conn.execute(count).scalar_one() == 2  # tx-single and tx-third
    finally:
        with engine.connect() as conn:
            conn.execute(text("DELETE FROM users WHERE id LIKE 'tx-%'"))
        engine.dispose()


def test_database_waits_work_on_descriptors_over_1023(postgres_url: str) -> None:
    """select() refuses descriptors over 1023 (ValueError → 500); a busy worker's next connection
    gets one. Hold 1,100 descriptors open, then connect and query."""
    held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    engine = make_engine(postgres_url)
    try:
        with engine.connect() as conn:
            assert conn.connection.dbapi_connection.fileno() > 1023
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
    finally:
        engine.dispose()
        for fd in held:
            os.close(fd)


def test_postgres_url_options_reach_the_driver(database_url: str) -> None:
    """Neon URLs carry `sslmode=require`; it must reach libpq. This server has no TLS, so requiring it
    fails (503) while `prefer` connects: proof the option is passed, not dropped."""
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only")
    for sslmode, status in (("require", 503), ("prefer", 200)):
        settings = Settings(better_auth_secret=SECRET, database_url=f"{database_url}?sslmode={sslmode}")
        with TestClient(create_app(settings)) as client:
            assert client.get("/api/health").status_code == status


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@h/db?sslmode=require", "postgresql+psycopg2://u:p@h/db?sslmode=require"),
        ("postgresql://u@h/db", "postgresql+psycopg2://u@h/db"),
        ("postgresql+psycopg2://u@h/db", "postgresql+psycopg2://u@h/db"),
        ("sqlite:///./todo.db", "sqlite:///./todo.db"),
    ],
)
def test_database_urls_are_normalized_for_psycopg2(given: str, expected: str) -> None:
    from models.db import normalize_url

    assert normalize_url(given) == expected


def test_a_sqlite_transaction_that_reads_then_writes_waits_for_another_writer(tmp_path: Path) -> None:
    """`transaction()` takes SQLite's write lock first: a deferred one that read before another writer
    committed failed its own write at once ("database is locked", a 503), as the in-process fuzz hit."""
    engine = make_engine(f"sqlite:///{tmp_path / 'locks.db'}")
    with engine.connect() as conn:
        conn.exec_driver_sql("CREATE TABLE marks (who TEXT)")
    errors: list[BaseException] = []

    def other_writer() -> None:
        try:
            with db.transaction(engine) as conn:
                conn.exec_driver_sql("INSERT INTO marks VALUES ('other')")
        except BaseException as error:
            errors.append(error)

    with db.transaction(engine) as conn:
        conn.exec_driver_sql("SELECT count(*) FROM marks").scalar_one()
        other = threading.Thread(target=other_writer)
        other.start()
        other.join(0.5)  # with BEGIN IMMEDIATE it waits for this transaction; deferred, it commits now
        conn.exec_driver_sql("INSERT INTO marks VALUES ('first')")
    other.join()
    assert errors == []
    with engine.connect() as conn:
        assert sorted(r[0] for r in conn.exec_driver_sql("SELECT who FROM marks")) == ["first", "other"]
    engine.dispose()
