"""Opaque list cursors: where a page ended (its last row's sort key values and id), signed for one user
and for the list's sort and filters, so that a cursor cannot be edited, used by another user, or used
on another list (each is a 400). `limit` may change from page to page."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import orjson

from handlers import cursor_signing
from handlers.core.context import current
from handlers.core.problems import BadRequest
from handlers.list_query import ListRequest
from models.keyset import Position, position_of
from models.queries import Row

MOMENTS = {"created", "updated", "due_date"}


def _key() -> bytes:
    return cursor_signing.key_from(b"task-api list cursor", current().settings.cursor_secret_material())


def _context(wanted: ListRequest) -> bytes:
    """What a cursor is for besides the user: the sort keys and the filters, as normalised."""
    return orjson.dumps([wanted.sort_keys, wanted.filters])


def encode(user_id: str, wanted: ListRequest, position: Position) -> str:
    payload = orjson.dumps([*position.values, position.id])  # datetimes as RFC 3339, with microseconds
    return cursor_signing.pack(_key(), user_id, payload, _context(wanted))


def decode(user_id: str, wanted: ListRequest) -> Position | None:
    if wanted.cursor is None:
        return None
    payload = cursor_signing.unpack(_key(), user_id, wanted.cursor, _context(wanted))
    try:
        *values, last_id = orjson.loads(payload or b"")
        keys = [key.lstrip("-") for key in wanted.sort_keys]
        return Position(tuple(_value(key, value) for key, value in zip(keys, values, strict=True)), int(last_id))
    except (ValueError, TypeError):  # not signed for this user and list (orjson's errors are ValueErrors)
        raise BadRequest("'cursor' is not valid for this list; start again without one", parameter="cursor") from None


def _value(key: str, value: Any) -> datetime | str | int | None:
    if key in MOMENTS and value is not None:
        return datetime.fromisoformat(value)
    return value  # type: ignore[no-any-return]


def next_link(path: str, user_id: str, wanted: ListRequest, last: Row) -> str:
    """The `next` link: the request's parameters, and a cursor after the page's last row."""
    cursor = encode(user_id, wanted, position_of(last, wanted.sort_keys))
    query = urlencode({**wanted.link_params, "limit": wanted.limit, "cursor": cursor}, doseq=True)
    return f'<{path}?{query}>; rel="next"'
