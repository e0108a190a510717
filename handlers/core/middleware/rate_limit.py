"""Per-user rate limits, checked after the token (so a request with a bad token costs one cheap check)."""

from __future__ import annotations

from connexion.exceptions import OAuthProblem
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from handlers.core import metrics
from handlers.core.problems import TooManyRequests
from handlers.core.rate_limits import RateLimits, Verdict
from handlers.runtime.request_scope import signed_in_user

OVER_LIMIT = "Too many requests for this user; retry after the number of seconds in Retry-After"


class RateLimitMiddleware:
    """Installed after Connexion's security middleware: a signed-in user's GET/HEAD requests count against
    RATE_LIMIT_READ and the others against RATE_LIMIT_WRITE; over the limit is 429. The responses of a
    limited request carry RateLimit-Limit / -Remaining / -Reset. Operations without a token pass."""

    def __init__(self, app: ASGIApp, limits: RateLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        user = signed_in_user(scope) if scope["type"] == "http" else None
        item = self.limits.for_method(scope["method"]) if user is not None else None
        verdict = await self.limits.charge(item, "user", user) if item is not None and user is not None else None
        if verdict is None:
            await self.app(scope, receive, send)
            return
        if not verdict.allowed:
            metrics.RATE_LIMITED.labels("read" if item is self.limits.read else "write").inc()
            raise TooManyRequests(OVER_LIMIT, verdict.headers())
        await self.app(scope, receive, with_headers(send, verdict))


class FailedTokenLimitMiddleware:
    """Installed before Connexion's security middleware: requests whose token fails the check count against
    RATE_LIMIT_READ by client address, and once it is exceeded they get 429 instead of 401. Only failures
    are counted (after the check), so a valid user never pays for it."""

    def __init__(self, app: ASGIApp, limits: RateLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        except OAuthProblem:
            if self.limits.read is not None:
                address = (scope.get("client") or ("unknown",))[0]
                verdict = await self.limits.charge(self.limits.read, "address", address)
                if verdict is not None and not verdict.allowed:
                    metrics.RATE_LIMITED.labels("failed_token").inc()
                    detail = "Too many requests with a bad token from this address"
                    raise TooManyRequests(detail, verdict.headers()) from None
            raise


def with_headers(send: Send, verdict: Verdict) -> Send:
    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            for name, value in verdict.headers().items():
                headers[name] = value
        await send(message)

    return send_with_headers
