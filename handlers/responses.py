"""The endpoints' responses: JSON encoded with orjson, and empty ones, each with the request's id."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from handlers.core.logs import request_id_var


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """orjson-encoded JSON (datetimes as RFC 3339 with offset). Returning a Response also avoids
    Connexion's "multiple response content types" error for operations that declare problem+json."""
    headers = {**(headers or {}), "X-Request-ID": request_id_var.get()}  # so response validation sees it
    return Response(orjson.dumps(body), status_code=status, headers=headers, media_type="application/json")


def empty_response(status: int = 204, headers: dict[str, str] | None = None) -> Response:
    return Response(status_code=status, headers={**(headers or {}), "X-Request-ID": request_id_var.get()})
