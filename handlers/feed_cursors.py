"""Opaque change-feed cursors: a change sequence number, signed for one user. A cursor says nothing a
client could use, cannot be forged or edited, and is refused (400) on another user's feed."""

from __future__ import annotations

import base64
import hashlib
import hmac

from handlers.core.problems import BadRequest

SIGNATURE_BYTES = 16


def key_from(secret: str) -> bytes:
    return hashlib.sha256(b"task-api change feed cursor\0" + secret.encode()).digest()


def _signature(key: bytes, user_id: str, payload: bytes) -> bytes:
    return hmac.new(key, user_id.encode() + b"\0" + payload, hashlib.sha256).digest()[:SIGNATURE_BYTES]


def _mask(key: bytes, user_id: str) -> int:
    """The number is masked (per user) so that a cursor does not read as a count of changes."""
    return int.from_bytes(hmac.new(key, b"mask\0" + user_id.encode(), hashlib.sha256).digest()[:8], "big")


def encode(key: bytes, user_id: str, seq: int) -> str:
    payload = (seq ^ _mask(key, user_id)).to_bytes(8, "big")
    return base64.urlsafe_b64encode(payload + _signature(key, user_id, payload)).rstrip(b"=").decode()


def decode(key: bytes, user_id: str, cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except ValueError:
        raw = b""
    payload, signature = raw[:8], raw[8:]
    if len(raw) != 8 + SIGNATURE_BYTES or not hmac.compare_digest(signature, _signature(key, user_id, payload)):
        raise BadRequest("'cursor' is not a cursor this feed gave you; start again without one")
    return int.from_bytes(payload, "big") ^ _mask(key, user_id)
