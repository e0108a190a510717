"""What the change feed's and the list's cursors share: a payload signed for one user (HMAC-SHA256, a key
per kind of cursor), base64url without padding. A signed cursor cannot be forged or edited, nor used by
another user; what it signs beyond the payload (`context`) must be the same again when it comes back."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac

SIGNATURE_BYTES = 16


@functools.cache  # asked on every request that reads or makes a cursor; the settings' secret is fixed
def key_from(label: bytes, secret: str) -> bytes:
    """A key per kind of cursor (`label`), so that one kind is never accepted as another."""
    return hashlib.sha256(label + b"\0" + secret.encode()).digest()


def _signature(key: bytes, user_id: str, payload: bytes, context: bytes) -> bytes:
    message = user_id.encode() + b"\0" + (context + b"\0" if context else b"") + payload
    return hmac.new(key, message, hashlib.sha256).digest()[:SIGNATURE_BYTES]


def pack(key: bytes, user_id: str, payload: bytes, context: bytes = b"") -> str:
    return base64.urlsafe_b64encode(payload + _signature(key, user_id, payload, context)).rstrip(b"=").decode()


def unpack(key: bytes, user_id: str, cursor: str, context: bytes = b"") -> bytes | None:
    """The payload, or None for anything this key did not sign for this user and context."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except ValueError:
        return None
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode() != cursor:
        return None  # another spelling of these bytes (the last character's unused bits set): an edit
    payload, signature = raw[:-SIGNATURE_BYTES], raw[-SIGNATURE_BYTES:]
    if len(raw) <= SIGNATURE_BYTES or not hmac.compare_digest(signature, _signature(key, user_id, payload, context)):
        return None
    return payload
