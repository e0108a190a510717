"""Where a request's token is checked, in the order a request meets it:

- `bearer.py`: the security function openapi.yaml names (`x-bearerInfoFunc`), and the `{user_id}` = `sub` check;
- `token_cache.py`: tokens already verified, remembered until they expire or their key goes;
- `verifier.py`: the token's key chosen by its `alg`/`kid` among the key sources, then PyJWT's checks;
- `shared_secret.py`: the HS256 key source (BETTER_AUTH_SECRET);
- `jwks_source.py`: the key source of Better Auth's jwt plugin (its JWKS URL, fetched and cached),
  with `jwks_document.py` reading a JWKS document into keys.
"""

from __future__ import annotations

from handlers.auth.jwks_source import JwksKeys
from handlers.auth.shared_secret import SharedSecret
from handlers.auth.token_cache import CachingTokenVerifier
from handlers.auth.verifier import KeySource, TokenVerifier
from handlers.core.config import Settings


def verifier_for(settings: Settings) -> TokenVerifier:
    """HS256 with the shared secret, Better Auth's JWKS, or both: whichever is configured."""
    sources: list[KeySource] = []
    if settings.better_auth_secret:
        sources.append(SharedSecret(settings.better_auth_secret, settings.jwt_issuer, settings.jwt_audience))
    if settings.jwks_url:
        jwks = JwksKeys(
            settings.jwks_url,
            issuer=settings.jwks_issuer,
            audience=settings.jwks_audience,
            cache_seconds=settings.jwks_cache_seconds,
            refetch_seconds=settings.jwks_refetch_seconds,
            timeout_seconds=settings.jwks_timeout_seconds,
        )
        sources.append(jwks)
    return CachingTokenVerifier(sources)  # verified tokens are remembered until they expire
