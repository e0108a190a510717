"""The users whose row this app has written, with the claims it wrote (see handlers/single_statement.py)."""

from __future__ import annotations

Claims = tuple[str | None, str | None]  # the token's email and name, as the users row keeps them
MAX_KNOWN_USERS = 100_000


class KnownUsers:
    """The users whose row this app wrote with these claims: their upsert would change nothing."""

    def __init__(self) -> None:
        self._claims: dict[str, Claims] = {}

    def knows(self, user_id: str, claims: Claims) -> bool:
        return self._claims.get(user_id) == claims

    def add(self, user_id: str, claims: Claims) -> None:
        if len(self._claims) >= MAX_KNOWN_USERS:
            self._claims.clear()
        self._claims[user_id] = claims

    def forget(self, user_id: str) -> None:
        self._claims.pop(user_id, None)
