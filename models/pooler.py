"""Connection poolers in front of PostgreSQL (PgBouncer, Neon's `-pooler` endpoint) and the `options`
startup parameter that carries `-c statement_timeout=…`.

Measured against Debian's PgBouncer 1.18 in transaction mode (tests/models/test_pgbouncer.py):
- by default it refuses the connection: `FATAL: unsupported startup parameter: options`;
- with `ignore_startup_parameters = options` it connects and drops the parameter, so the server's
  `statement_timeout` is the role's or database's (0, no limit, unless one is set).

So the engine connects with `options`, and if that is refused connects without the part it added (the
URL's own `options`, if any, are kept), from then on for every connection, with one WARNING. On its first
connection it also reads the `statement_timeout` the server actually applies and warns once when it is not
DB_STATEMENT_TIMEOUT. Either way the client-side bound (`models/waits.py`) still ends a request in time.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Engine, event

log = logging.getLogger(__name__)

REFUSED = "unsupported startup parameter: options"
ROLE_ADVICE = "set it on the role instead: ALTER ROLE <role> SET statement_timeout = '{seconds:g}s'"


def tolerate_refused_options(engine: Engine, own_options: str | None, seconds: float) -> None:
    """Connect without the added `options` once a pooler has refused them."""
    refused = False

    @event.listens_for(engine, "do_connect")
    def _connect(dialect: Any, _record: Any, cargs: Any, cparams: dict[str, Any]) -> Any:
        nonlocal refused
        if not refused:
            try:
                return dialect.connect(*cargs, **cparams)
            except dialect.dbapi.OperationalError as error:
                if REFUSED not in str(error):
                    raise
                refused = True
                log.warning(
                    "the database (a pooler such as PgBouncer) refused the `options` startup parameter; "
                    "connecting without it, so DB_STATEMENT_TIMEOUT is not set per connection: "
                    + ROLE_ADVICE.format(seconds=seconds)
                )
        if own_options:
            cparams["options"] = own_options
        else:
            cparams.pop("options", None)
        return dialect.connect(*cargs, **cparams)


def check_statement_timeout(engine: Engine, seconds: float) -> None:
    """On the first connection, warn when the server's statement_timeout is not `seconds` (one query)."""
    expected_ms = int(seconds * 1000)

    @event.listens_for(engine, "first_connect")
    def _check(dbapi_connection: Any, _record: Any) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SELECT setting FROM pg_settings WHERE name = 'statement_timeout'")
            applied_ms = int(cursor.fetchone()[0])
        dbapi_connection.rollback()  # psycopg2 opened a transaction for the SELECT; a pooler must not keep it
        if applied_ms != expected_ms:
            log.warning(
                "the database applies statement_timeout = %d ms, not DB_STATEMENT_TIMEOUT (%d ms): a pooler "
                "dropped the `options` startup parameter, or it was refused; " + ROLE_ADVICE.format(seconds=seconds),
                applied_ms,
                expected_ms,
            )
