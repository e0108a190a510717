"""What Connexion leaves on a request's ASGI scope, read by the metrics and rate-limit middleware.

Connexion's routing middleware hands the layers inside it a *copy* of the scope (`scope.copy()`), and puts
the operationId in `scope["extensions"]["connexion_routing"]`; its security middleware puts the token's
`sub` in `scope["extensions"]["connexion_context"]["user"]` (what `connexion.context.context` shows). A
layer outside routing sees these only if the `extensions` dict it shares with the copy exists beforehand.
"""

from __future__ import annotations

from starlette.types import Scope


def share_extensions(scope: Scope) -> None:
    """Make the scope's `extensions` dict now, so what Connexion writes into it is seen out here too."""
    scope.setdefault("extensions", {})


def operation_of(scope: Scope) -> str:
    """The request's operationId; "none" when no operation was routed (404, 405, docs)."""
    operation = scope.get("extensions", {}).get("connexion_routing", {}).get("operation_id")
    return operation if isinstance(operation, str) else "none"


def signed_in_user(scope: Scope) -> str | None:
    """The token's `sub` once Connexion's security middleware has checked it; None before, or without a token."""
    user = scope.get("extensions", {}).get("connexion_context", {}).get("user")
    return user if isinstance(user, str) else None
