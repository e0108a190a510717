"""A real PgBouncer in transaction mode in front of the test PostgreSQL, in its two usual configurations:
what it does with the `options` startup parameter (measured, not assumed), and the service working through
either. The API suite's writes, counts, concurrency and faults run through it too (TEST_PGBOUNCER=1)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from models.db import make_engine
from tests.support.databases import PG_URL
from tests.support.live import live_server
from tests.support.pgbouncer import PgBouncer, pgbouncer


@pytest.fixture(params=[False, True], ids=["default", "ignore_options"])
def bouncer(request: pytest.FixtureRequest, postgres_url: str) -> Iterator[PgBouncer]:
    with pgbouncer(PG_URL, ignore_options=request.param) as running:  # in front of the server itself
        yield running


def libpq(url: str, **extra: str) -> dict[str, object]:
    parts = make_url(url)
    return {"host": parts.host, "port": parts.port, "user": parts.username, "dbname": parts.database, **extra}


def test_what_pgbouncer_does_with_options(bouncer: PgBouncer, request: pytest.FixtureRequest) -> None:
    options = {"options": "-c statement_timeout=1500"}
    if "ignore_options" not in request.node.callspec.id:
        with pytest.raises(psycopg2.OperationalError, match="unsupported startup parameter: options"):
            psycopg2.connect(**libpq(bouncer.url, **options))
        return
    conn = psycopg2.connect(**libpq(bouncer.url, **options))  # accepted, and dropped
    try:
        with conn.cursor() as cursor:
            cursor.execute("SHOW statement_timeout")
            assert cursor.fetchone()[0] != "1500ms"
    finally:
        conn.close()


def test_the_engine_connects_either_way_and_says_what_the_timeout_is(
    bouncer: PgBouncer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="models.pooler")
    engine = make_engine(bouncer.url, statement_timeout=1.5, autocommit=True)
    try:
        for _ in range(3):
            with engine.connect() as conn:
                assert conn.execute(text("SELECT 1")).scalar_one() == 1
    finally:
        engine.dispose()
    warnings = [r.getMessage() for r in caplog.records if r.name == "models.pooler"]
    assert any("not DB_STATEMENT_TIMEOUT (1500 ms)" in w for w in warnings), warnings
    assert all("ALTER ROLE" in w for w in warnings)
    assert len(warnings) <= 2  # once per engine, not per connection


def test_a_timeout_set_on_the_database_holds_through_pgbouncer(
    bouncer: PgBouncer, caplog: pytest.LogCaptureFixture
) -> None:
    """What the README tells Neon users to do (there on the role; here on the test database, which is ours)."""
    database = make_url(PG_URL).database
    admin = make_engine(PG_URL, statement_timeout=None, autocommit=True)
    with admin.connect() as conn:
        conn.execute(text(f"ALTER DATABASE \"{database}\" SET statement_timeout = '1500ms'"))
    caplog.set_level(logging.WARNING, logger="models.pooler")
    engine = make_engine(bouncer.url, statement_timeout=1.5, autocommit=True)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SHOW statement_timeout")).scalar_one() == "1500ms"
            with pytest.raises(Exception, match="canceling statement due to statement timeout"):
                conn.execute(text("SELECT pg_sleep(3)"))
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{database}" RESET statement_timeout'))
        admin.dispose()
    assert not [r for r in caplog.records if "applies statement_timeout" in r.getMessage()]


def test_the_service_serves_through_pgbouncer(bouncer: PgBouncer, tmp_path: Path) -> None:
    user = f"pgb-{uuid.uuid4().hex[:8]}"
    with live_server(bouncer.url, tmp_path, workers=2) as server:
        for i in range(5):
            assert server.request("POST", f"/api/{user}/tasks", {"title": f"t{i}"}, user)[0] == 201
        status, headers, _ = server.request("GET", f"/api/{user}/tasks", user=user)
        assert status == 200
        assert headers["x-total-count"] == "5"
        assert server.request("GET", "/api/health")[0] == 200
        log = server.log()
    assert "ALTER ROLE" in log  # the operator is told what to set
    assert "Traceback" not in log
