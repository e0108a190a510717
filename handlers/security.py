"""Bearer-JWT verification, wired in openapi.yaml as `x-bearerInfoFunc`.

Connexion calls `verify_bearer_token` on the event loop, so it does CPU work only: no database and
no network. Keys come from key sources chosen by the token's `alg` header; HS256 with the shared
secret is the one source today, and a JWKS source (Better Auth's jwt plugin) is another class with the
same `key_for` method, not a rewrite.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Protocol

import jwt
from connexion.lifecycle import ConnexionRequest

from handlers.problems import Forbidden, Unauthenticated

LEEWAY_SECONDS = 30
# The spec's UserId: 1-255 characters, none of them a control character or `/` (neither can be
# routed as one path segment). A `sub` outside it could never reach its own tasks.
USER_ID = re.compile(r"[^\x00-\x1f\x7f/]{1,255}")

Claims = dict[str, Any]


class KeySource(Protocol):
    def key_for(self, algorithm: str, key_id: str | None) -> Any | None:
        """The key that verifies tokens with this `alg` (and `kid`), or None if it has none."""


class SharedSecret:
    """HS256 with the UTF-8 bytes of BETTER_AUTH_SECRET (tokens a frontend's server route signs)."""

    algorithms = ("HS256",)

    def __init__(self, secret: str) -> None:
        self._key = secret.encode()

    def key_for(self, algorithm: str, key_id: str | None) -> bytes | None:
        return self._key if algorithm in self.algorithms else None


class TokenVerifier:
    def __init__(self, sources: Sequence[KeySource], issuer: str | None = None, audience: str | None = None) -> None:
        self._sources = sources
        self._issuer = issuer
        self._audience = audience

    def _key_for(self, algorithm: str, key_id: Any) -> Any | None:
        kid = key_id if isinstance(key_id, str) else None
        return next((key for source in self._sources if (key := source.key_for(algorithm, kid)) is not None), None)

    def verify(self, token: str) -> Claims:
        """The token's claims; raises `Unauthenticated` with a reason safe to show (never the token)."""
        try:
            header = jwt.get_unverified_header(token)
            algorithm = header.get("alg")
            if not isinstance(algorithm, str):
                raise Unauthenticated(detail="The token's header names no signing algorithm")
            key = self._key_for(algorithm, header.get("kid"))
            if key is None:
                raise Unauthenticated(detail="The token's signing algorithm is not accepted")
            claims: Claims = jwt.decode(
                token,
                key,
                algorithms=[algorithm],  # pinned: only the algorithm this key is meant for
                issuer=self._issuer,
                audience=self._audience,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "sub"], "verify_aud": self._audience is not None},
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
        sub = claims.get("sub")
        if not isinstance(sub, str) or not USER_ID.fullmatch(sub):  # not `^…$`: `$` allows a final newline
            raise Unauthenticated(detail="The token's 'sub' claim is not a valid user id")
        return claims


def verify_bearer_token(token: str, request: ConnexionRequest) -> Claims:
    """Security function: verify the token, then check the path's `{user_id}` is its user.

    The ownership check lives here, before Connexion validates parameters and body, so a foreign
    `{user_id}` is 403 whatever else is wrong with the request.
    """
    verifier: TokenVerifier = request.scope["task_api"].verifier
    claims = verifier.verify(token)
    path_user = request.path_params.get("user_id")
    if path_user is not None and path_user != claims["sub"]:
        raise Forbidden("The path's user_id is not the signed-in user")
    return claims
