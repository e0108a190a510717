"""Opaque change-feed cursors: a change sequence number, signed for one user. A cursor says nothing a
client could use, cannot be forged or edited, and is refused (400) on another user's feed."""

from __future__ import annotations

import hashlib
import hmac

from handlers import cursor_signing
from handlers.core.problems import BadRequest


def key_from(secret: str) -> bytes:
    return cursor_signing.key_from(b"task-api change feed cursor", secret)


def _mask(key: bytes, user_id: str) -> int:
    """The number is masked (per user) so that a cursor does not read as a count of changes."""
    return int.from_bytes(hmac.new(key, b"mask\0" + user_id.encode(), hashlib.sha256).digest()[:8], "big")


def encode(key: bytes, user_id: str, seq: int) -> str:
    return cursor_signing.pack(key, user_id, (seq ^ _mask(key, user_id)).to_bytes(8, "big"))


def decode(key: bytes, user_id: str, cursor: str) -> int:
    payload = cursor_signing.unpack(key, user_id, cursor)
    if payload is None or len(payload) != 8:
        raise BadRequest("'cursor' is not a cursor this feed gave you; start again without one")
    return int.from_bytes(payload, "big") ^ _mask(key, user_id)
