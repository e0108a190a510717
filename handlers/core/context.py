"""Per-app state reachable from every request: the settings, the engine, the token verifier, the users
whose row is known to be written."""

from __future__ import annotations

from dataclasses import dataclass, field

from connexion.context import scope as current_scope
from sqlalchemy import Engine

from handlers.auth.verifier import TokenVerifier
from handlers.core.config import Settings
from handlers.core.known_users import KnownUsers


@dataclass(frozen=True)
class AppContext:
    settings: Settings
    engine: Engine
    verifier: TokenVerifier
    known_users: KnownUsers = field(default_factory=KnownUsers)


def current() -> AppContext:
    """The app context of the request being handled (attached by `RequestContextMiddleware`)."""
    context: AppContext = current_scope["task_api"]
    return context
