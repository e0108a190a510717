"""Problem types (RFC 9457) the API raises, and the handlers that turn every error into one."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any

from connexion.exceptions import OAuthProblem, ProblemException
from connexion.http_facts import HTTP_STATUS_CODES
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from connexion.problem import problem
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = "5"
MAX_DETAIL_LENGTH = 300


class Problem(ProblemException):
    """A problem whose status and title are fixed by its class; only the detail varies."""

    status_code = 500
    title_text = "Internal Server Error"

    def __init__(self, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(status=self.status_code, title=self.title_text, detail=detail, headers=headers)


class BadRequest(Problem):
    """400, saying where: a JSON Pointer into the body (`#/title`) or a parameter's name (`limit`), as the
    one entry of the `errors` extension member, so a form can put the message next to its field."""

    status_code, title_text = 400, "Bad Request"

    def __init__(self, detail: str, *, pointer: str | None = None, parameter: str | None = None) -> None:
        super().__init__(detail)
        where = {"pointer": pointer} if pointer else {"parameter": parameter} if parameter else {}
        self.ext = {"errors": [{"detail": detail, **where}]}


def summary(violations: list[dict[str, str]]) -> str:
    """The top-level `detail` of many violations: the first, and how many more `errors` lists."""
    first, more = violations[0]["detail"], len(violations) - 1
    return first if not more else f"{first} (and {more} more problem{'s' if more > 1 else ''}, listed in errors)"


class InvalidRequest(Problem):
    """400 with every violation validation found, each in `errors`; `detail` sums them up."""

    status_code, title_text = 400, "Bad Request"

    def __init__(self, violations: list[dict[str, str]]) -> None:
        super().__init__(summary(violations))
        self.ext = {"errors": violations}


class Unauthenticated(OAuthProblem):
    """401; subclasses OAuthProblem so Connexion's security layer ranks it as an auth failure."""


class Forbidden(Problem):
    status_code, title_text = 403, "Forbidden"


class NotFound(Problem):
    status_code, title_text = 404, "Not Found"


class Conflict(Problem):
    status_code, title_text = 409, "Conflict"


class Gone(Problem):
    status_code, title_text = 410, "Gone"


class PreconditionFailed(Problem):
    status_code, title_text = 412, "Precondition Failed"


class UnprocessableContent(Problem):
    status_code, title_text = 422, "Unprocessable Content"


class PreconditionRequired(Problem):
    status_code, title_text = 428, "Precondition Required"


class PayloadTooLarge(Problem):
    status_code, title_text = 413, "Content Too Large"


class UnsupportedMediaType(Problem):
    status_code, title_text = 415, "Unsupported Media Type"


class TooManyRequests(Problem):
    """429 with the RateLimit-* headers and Retry-After of the limit that was exceeded."""

    status_code, title_text = 429, "Too Many Requests"


class ServiceUnavailable(Problem):
    status_code, title_text = 503, "Service Unavailable"


def problem_response(
    status: int,
    detail: str | None,
    title: str | None = None,
    *,
    exc_headers: dict[str, str] | None = None,
    ext: dict[str, Any] | None = None,
) -> ConnexionResponse:
    """A problem+json response that always has type, title, status and detail, plus the headers the
    status calls for (RFC 6750's WWW-Authenticate on 401, Retry-After on 503); a 400 always has `errors`."""
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
    if status == 400 and not (ext or {}).get("errors"):  # one of Connexion's own, without a location
        ext = {**(ext or {}), "errors": [{"detail": detail}]}
    return problem(status=status, title=title, detail=detail, headers=headers, ext=ext)


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
        return problem_response(exc.status, exc.detail, exc.title, exc_headers=exc.headers, ext=exc.ext)

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
        if isinstance(exc, ClientDisconnect):  # wrk stopping mid-request was logged as an unhandled error
            log.info("client disconnected before its request body arrived")
            return problem_response(400, "The request body did not arrive: the client disconnected")
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
