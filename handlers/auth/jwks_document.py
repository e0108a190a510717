"""A JWKS document read into the signing keys it holds, each with the algorithms it may verify."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import jwt
import orjson

log = logging.getLogger(__name__)

# The asymmetric algorithms accepted, each with the key type and curves it may use. HS* is absent on
# purpose: a JWKS key must never verify a token whose header asks for a shared-secret algorithm.
KEY_TYPES: dict[str, tuple[str, frozenset[str | None]]] = {
    "EdDSA": ("OKP", frozenset({"Ed25519", "Ed448"})),
    "ES256": ("EC", frozenset({"P-256"})),
    "ES512": ("EC", frozenset({"P-521"})),
    "RS256": ("RSA", frozenset({None})),
    "PS256": ("RSA", frozenset({None})),
}


class JwksError(Exception):
    """The key set could not be fetched or is not a key set; the message names the reason."""


@dataclass(frozen=True)
class PublicKey:
    key: Any  # a `cryptography` public key object
    kty: str
    crv: str | None
    alg: str | None  # older Better Auth versions omit it

    def fits(self, algorithm: str) -> bool:
        kty, curves = KEY_TYPES[algorithm]
        return self.kty == kty and self.crv in curves and self.alg in (None, algorithm)


def parse_jwks(document: bytes) -> dict[str, PublicKey]:
    """The set's usable signing keys by `kid`; keys that are malformed or of another kind are skipped."""
    try:
        data = orjson.loads(document)
    except orjson.JSONDecodeError:
        raise JwksError("the document is not JSON") from None
    entries = data.get("keys") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise JwksError("the document has no 'keys' list")
    keys: dict[str, PublicKey] = {}
    for jwk in entries:
        if not isinstance(jwk, dict) or not isinstance(kid := jwk.get("kid"), str):
            continue
        kty, alg = jwk.get("kty"), jwk.get("alg")
        if jwk.get("use", "sig") != "sig" or kty not in {t for t, _ in KEY_TYPES.values()}:
            continue  # encryption keys and symmetric ("oct") keys are not signing keys for us
        try:
            key = jwt.PyJWK(jwk).key
        except (jwt.PyJWTError, ValueError, TypeError):
            log.warning("JWKS key %r skipped: not a valid %s key", kid[:64], kty)
            continue
        keys[kid] = PublicKey(key, str(kty), jwk.get("crv"), alg if isinstance(alg, str) else None)
    return keys
