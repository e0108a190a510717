"""GET /api/health: the service answers and so does its database."""

from __future__ import annotations

from sqlalchemy import text
from starlette.responses import Response

from handlers.core.context import current
from handlers.core.problems import ServiceUnavailable
from handlers.responses import json_response


def get_health() -> Response:
    try:
        with current().engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any failure to reach the database means "unavailable", nothing more
        raise ServiceUnavailable(f"The database is unreachable ({type(exc).__name__})") from None
    return json_response({"status": "ok", "database": "ok"})
