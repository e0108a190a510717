"""The security function openapi.yaml names as `x-bearerInfoFunc`: the one place a request's token
is checked. Connexion awaits it on the event loop, before parameters and body are validated."""

from __future__ import annotations

from connexion.lifecycle import ConnexionRequest

from handlers.auth.verifier import Claims, TokenVerifier
from handlers.core.problems import Forbidden


async def verify_bearer_token(token: str, request: ConnexionRequest) -> Claims:
    """Security function: verify the token, then check the path's `{user_id}` is its user.

    The ownership check lives here, before Connexion validates parameters and body, so a foreign
    `{user_id}` is 403 whatever else is wrong with the request.
    """
    verifier: TokenVerifier = request.scope["task_api"].verifier
    # Connexion splits the header at the first white space and keeps the rest, trailing OWS included
    # (RFC 9110 §5.5: not part of the value), which made `Bearer <jwt> ` a 401.
    claims = await verifier.verify(token.rstrip(" \t"))
    # The router's own match, not `request.path_params`: that runs Connexion's URI parser over every path
    # parameter (4 % of a get's samples), and `user_id` is a string either way.
    path_user = request.scope.get("path_params", {}).get("user_id")
    if path_user is not None and path_user != claims["sub"]:
        raise Forbidden("The path's user_id is not the signed-in user")
    return claims
