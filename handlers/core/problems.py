"""Problem types (RFC 9457) the API raises, and the handlers that turn every error into one."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from connexion.exceptions import OAuthProblem, ProblemException
from connexion.http_facts import HTTP_STATUS_CODES
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from connexion.problem import problem
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = "5"
MAX_DETAIL_LENGTH = 300


class Problem(ProblemException):
    """A problem whose status and title are fixed by its class; only the detail varies."""

    status_code = 500
    title_text = "Internal Server Error"

    def __init__(self, detail: str) -> None:
        super().__init__(status=self.status_code, title=self.title_text, detail=detail)


class BadRequest(Problem):
    status_code, title_text = 400, "Bad Request"


class Unauthenticated(OAuthProblem):
    """401; subclasses OAuthProblem so Connexion's security layer ranks it as an auth failure."""


class Forbidden(Problem):
    status_code, title_text = 403, "Forbidden"


class NotFound(Problem):
    status_code, title_text = 404, "Not Found"


class Conflict(Problem):
    status_code, title_text = 409, "Conflict"


class PayloadTooLarge(Problem):
    status_code, title_text = 413, "Content Too Large"


class UnsupportedMediaType(Problem):
    status_code, title_text = 415, "Unsupported Media Type"


class TooManyRequests(Problem):
    """429 with the RateLimit-* headers and Retry-After of the limit that was exceeded."""

    status_code, title_text = 429, "Too Many Requests"

    def __init__(self, detail: str, headers: dict[str, str]) -> None:
        ProblemException.__init__(self, status=self.status_code, title=self.title_text, detail=detail, headers=headers)


class ServiceUnavailable(Problem):
    status_code, title_text = 503, "Service Unavailable"


def problem_response(
    status: int, detail: str | None, title: str | None = None, *, exc_headers: dict[str, str] | None = None
) -> ConnexionResponse:
    """A problem+json response that always has type, title, status and detail, plus the headers the
    status calls for (RFC 6750's WWW-Authenticate on 401, Retry-After on 503)."""
    title = title or HTTP_STATUS_CODES.get(status, "Error")
    headers = dict(exc_headers or {})
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="tasks"' + (
            "" if detail == "No authorization token provided" else ', error="invalid_token"'
        )
    if status == 503:
        headers["Retry-After"] = RETRY_AFTER_SECONDS
    detail = detail or title
    if len(detail) > MAX_DETAIL_LENGTH:  # validation messages quote the offending value, however large
        detail = detail[:MAX_DETAIL_LENGTH] + "…"
    return problem(status=status, title=title, detail=detail, headers=headers)


class AllowedMethods:
    """Which methods each spec path has, so a 405 can list all of them in `Allow`: Connexion routes
    each method separately and would otherwise name just one."""

    def __init__(self, base_path: str, paths: dict[str, dict[str, object]]) -> None:
        self._routes: list[tuple[re.Pattern[str], str]] = []
        for path, item in paths.items():
            regex = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(base_path + path))
            methods = {m.upper() for m in item if m in {"get", "put", "post", "delete", "patch"}}
            if "GET" in methods:
                methods.add("HEAD")  # Starlette answers HEAD wherever GET is routed
            self._routes.append((re.compile(f"^{regex}$"), ", ".join(sorted(methods))))

    def for_path(self, path: str) -> str | None:
        return next((allow for regex, allow in self._routes if regex.match(path)), None)


def make_error_handlers(allowed: AllowedMethods) -> Iterable[tuple[type[Exception] | int, object]]:
    # async: Connexion runs sync error handlers in the thread pool, where a 401 would queue behind
    # database work. They do no I/O.
    async def on_problem(request: ConnexionRequest, exc: ProblemException) -> ConnexionResponse:
        return problem_response(exc.status, exc.detail, exc.title, exc_headers=exc.headers)

    async def on_http(request: ConnexionRequest, exc: HTTPException) -> ConnexionResponse:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = allowed.for_path(request.url.path) or headers.get("Allow", "")
        detail = exc.detail
        if exc.status_code == 404:
            detail = f"No route for {request.url.path}"
        elif exc.status_code == 405:
            detail = f"{request.method} is not allowed here; use {headers['Allow']}"
        return problem_response(exc.status_code, detail, exc_headers=headers)

    async def on_unexpected(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
        if is_database_unavailable(exc):
            log.warning("database unavailable: %s", type(exc).__name__)
            return problem_response(503, "The database is unreachable; try again shortly")
        log.error("unhandled error", exc_info=exc)
        return problem_response(500, "An unexpected error occurred; it has been logged")

    return [
        (ProblemException, on_problem),
        (HTTPException, on_http),
        (Exception, on_unexpected),
    ]


def is_database_unavailable(exc: BaseException) -> bool:
    """Connection failures, dropped connections, an exhausted pool, a locked SQLite file."""
    if isinstance(exc, PoolTimeout | OperationalError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated
