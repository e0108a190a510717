"""The HS256 key source: BETTER_AUTH_SECRET, shared with the frontend's server."""

from __future__ import annotations


class SharedSecret:
    """HS256 with the UTF-8 bytes of BETTER_AUTH_SECRET (tokens a frontend's server route signs)."""

    algorithms: tuple[str, ...] = ("HS256",)

    def __init__(self, secret: str, issuer: str | None = None, audience: str | None = None) -> None:
        self._key = secret.encode()
        self.issuer, self.audience = issuer, audience

    def key_for(self, algorithm: str, key_id: str | None) -> bytes | None:
        return self._key if algorithm in self.algorithms else None

    async def refresh(self, algorithm: str, key_id: str | None) -> None:
        return None  # one fixed key: nothing more to find

    def close(self) -> None:
        return None
