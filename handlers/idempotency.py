"""Idempotent retries (draft-ietf-httpapi-idempotency-key-header, with Stripe's semantics): a POST or a
`PATCH …/complete` sent with `Idempotency-Key` runs once; a retry with the same key and the same request
gets the first response back with `Idempotent-Replayed: true` and changes nothing.

Used inside the write's transaction: `replay = claim(conn, user_id, body)` first (a stored response to
return, or None to go on), `remember(conn, response)` last. Keys are scoped to the token's `sub` (which
is the path's `{user_id}`), expire after IDEMPOTENCY_TTL_HOURS and are purged by the housekeeping task.
"""

from __future__ import annotations

import hashlib
import re
from contextvars import ContextVar
from datetime import timedelta
from typing import Any

import orjson
from connexion.context import scope as current_scope
from sqlalchemy import Connection
from starlette.responses import Response

from handlers.core.context import current
from handlers.core.logs import request_id_var
from handlers.core.problems import BadRequest, Conflict, UnprocessableContent
from handlers.preconditions import header
from models import idempotency_keys
from models.clock import utc_now

# 1 to 255 visible ASCII characters, bare or as a structured-field string without escapes (RFC 8941),
# as the spec's IdempotencyKey pattern says.
QUOTED_KEY = re.compile(r'"([\x21\x23-\x5b\x5d-\x7e]{1,255})"')
BARE_KEY = re.compile(r"[\x21\x23-\x7e][\x21-\x7e]{0,254}")  # a leading quote opens a string
REPLAYED_HEADERS = ("Location", "ETag", "Content-Type")
claimed: ContextVar[tuple[str, str] | None] = ContextVar("idempotency_claim", default=None)


def key_of(value: str) -> str:
    if quoted := QUOTED_KEY.fullmatch(value):
        return quoted.group(1)
    if BARE_KEY.fullmatch(value):
        return value
    raise BadRequest("Idempotency-Key must be 1 to 255 visible ASCII characters, bare or in double quotes")


def fingerprint(body: Any) -> str:
    """The request as far as a retry must repeat it: method, path and body (keys in any order)."""
    method, path = current_scope["method"].encode(), current_scope["path"].encode()
    parts = [method, path, orjson.dumps(body, option=orjson.OPT_SORT_KEYS)]
    return hashlib.sha256(b"\n".join(parts)).hexdigest()


def claim(conn: Connection, user_id: str, body: Any = None) -> Response | None:
    """Without a key: None. Else claim it for this request (None), or answer with the stored response
    (422 when the key was used for another request, 409 while that one is still running)."""
    claimed.set(None)
    raw = header(b"idempotency-key")
    if raw is None:
        return None
    key, now = key_of(raw), utc_now()
    expires = now + timedelta(hours=current().settings.idempotency_ttl_hours)
    try:
        stored = idempotency_keys.claim(conn, user_id, key, fingerprint(body), now, expires)
    except idempotency_keys.InFlight:
        raise Conflict("A request with this Idempotency-Key is still in flight", headers={"Retry-After": "1"}) from None
    if stored is None:
        claimed.set((user_id, key))
        return None
    if stored.fingerprint != fingerprint(body):
        raise UnprocessableContent("This Idempotency-Key was used for a different request")
    headers = {**orjson.loads(stored.headers or "{}"), "Idempotent-Replayed": "true"}
    headers["X-Request-ID"] = request_id_var.get()
    return Response(stored.body, status_code=stored.status or 200, headers=headers)


def remember(conn: Connection, response: Response) -> None:
    """Store the response under the claimed key, in the write's own transaction."""
    if (owner := claimed.get()) is None:
        return
    headers = {name: response.headers[name] for name in REPLAYED_HEADERS if name in response.headers}
    idempotency_keys.store(conn, *owner, response.status_code, orjson.dumps(headers).decode(), bytes(response.body))
    claimed.set(None)
