"""A token's verification: its key found by `alg` (and `kid`) among the key sources, then PyJWT.

Key sources: the shared secret for HS256 (`shared_secret.py`), Better Auth's JWKS for EdDSA, ES256,
ES512, RS256 and PS256 (`jwks_source.py`). With a cached key, verification is CPU work only; the one
await is a source's `refresh`, on a key it does not have yet, which for the JWKS is an async, shared fetch.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Protocol

import jwt

from handlers.core.problems import Unauthenticated

LEEWAY_SECONDS = 30
# The spec's UserId: 1-255 characters, none of them a control character or `/` (neither can be
# routed as one path segment). A `sub` outside it could never reach its own tasks.
# Nor `.` or `..`: every URL resolver removes those segments (RFC 3986 §5.2.4), so the user's URLs would
# name someone else's path.
USER_ID = re.compile(r"(?!\.\.?\Z)[^\x00-\x1f\x7f/]{1,255}")
# RFC 7519 §2: a NumericDate is a JSON number. PyJWT calls int() on `exp`/`nbf`/`iat`, so it also took
# strings ("1999999999", non-ASCII digits) and integers no float holds (10^400: OverflowError later).
DATE_CLAIMS = ("exp", "nbf", "iat")
LATEST_DATE = 253402300799  # 9999-12-31T23:59:59Z, the last second a datetime (or a database) can hold

Claims = dict[str, Any]


class KeySource(Protocol):
    algorithms: tuple[str, ...]
    issuer: str | None  # when set, tokens verified by this source must carry exactly this `iss`
    audience: str | None

    def key_for(self, algorithm: str, key_id: str | None) -> Any | None:
        """The key that verifies tokens with this `alg` (and `kid`), or None if it has none."""

    async def refresh(self, algorithm: str, key_id: str | None) -> None:
        """Look for a key it lacks; raises ServiceUnavailable when it cannot look."""

    def close(self) -> None:
        """Stop any work in the background (on shutdown)."""


DOUBLE_BEARER = "The Authorization header says Bearer twice; in Swagger UI, paste the token without Bearer"


class TokenVerifier:
    def __init__(self, sources: Sequence[KeySource]) -> None:
        self._sources = sources

    def _find(self, algorithm: str, key_id: str | None) -> tuple[KeySource, Any] | None:
        for source in self._sources:
            if (key := source.key_for(algorithm, key_id)) is not None:
                return source, key
        return None

    async def verify(self, token: str) -> Claims:
        """The token's claims; raises `Unauthenticated` with a reason safe to show (never the token), or
        `ServiceUnavailable` when the key it names cannot be fetched."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            if token[:7].lower() == "bearer ":  # `Bearer Bearer <jwt>`: the prefix pasted into Swagger UI too
                raise Unauthenticated(detail=DOUBLE_BEARER) from None
            raise Unauthenticated(detail="The token is malformed or its signature does not verify") from None
        algorithm, key_id = header.get("alg"), header.get("kid")
        if not isinstance(algorithm, str):
            raise Unauthenticated(detail="The token's header names no signing algorithm")
        if not any(algorithm in source.algorithms for source in self._sources):
            raise Unauthenticated(detail="The token's signing algorithm is not accepted")
        key_id = key_id if isinstance(key_id, str) else None
        found = self._find(algorithm, key_id)
        if found is None:
            for source in self._sources:
                await source.refresh(algorithm, key_id)
            found = self._find(algorithm, key_id)
        if found is None:
            raise Unauthenticated(detail="The token's signing key is not known")
        return decode(token, found[1], algorithm, found[0])

    def close(self) -> None:
        for source in self._sources:
            source.close()


def decode(token: str, key: Any, algorithm: str, source: KeySource) -> Claims:
    try:
        claims: Claims = jwt.decode(
            token,
            key,
            algorithms=[algorithm],  # pinned: only the algorithm this key is meant for
            issuer=source.issuer,
            audience=source.audience,
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "sub"], "verify_aud": source.audience is not None},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthenticated(detail="The token has expired") from None
    except jwt.ImmatureSignatureError:
        raise Unauthenticated(detail="The token is not valid yet") from None
    except (jwt.InvalidIssuerError, jwt.InvalidAudienceError):
        raise Unauthenticated(detail="The token was issued by or for another party") from None
    except jwt.MissingRequiredClaimError as exc:
        raise Unauthenticated(detail=f"The token lacks the {exc.claim!r} claim") from None
    except jwt.InvalidTokenError:
        raise Unauthenticated(detail="The token is malformed or its signature does not verify") from None
    for name in DATE_CLAIMS:
        if name in claims and not is_numeric_date(claims[name]):
            raise Unauthenticated(detail=f"The token's {name!r} claim is not a date (seconds since 1970)")
    sub = claims.get("sub")
    if not isinstance(sub, str) or not USER_ID.fullmatch(sub):  # not `^…$`: `$` allows a final newline
        raise Unauthenticated(detail="The token's 'sub' claim is not a valid user id")
    return claims


def is_numeric_date(value: Any) -> bool:
    """A JSON number (not a bool, a string or an infinity) between 1970 and the year 9999."""
    # The comparison first: it is exact for any int, where math.isfinite(10**400) raises OverflowError.
    return type(value) in (int, float) and 0 <= value <= LATEST_DATE  # NaN fails the comparison
