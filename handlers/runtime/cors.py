"""Starlette's CORS middleware, with a refused preflight answered as every other error: problem+json."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import JSONResponse, Response


class ProblemCORSMiddleware(CORSMiddleware):
    """A preflight Starlette refuses comes back from `preflight_response` as a text/plain 400
    ("Disallowed CORS origin"); here it is an RFC 9457 problem with the same status and headers."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code < 400:
            return response
        refused = bytes(response.body).decode().removeprefix("Disallowed CORS ").split(", ")  # origin, method...
        what = " and ".join(refused) + (" is" if len(refused) == 1 else " are")
        detail = f"This cross-origin request is refused: its {what} not allowed (origins are set by CORS_ORIGINS)"
        headers = {k: v for k, v in response.headers.items() if k not in ("content-type", "content-length")}
        problem = {"type": "about:blank", "title": "Bad Request", "status": response.status_code, "detail": detail}
        return JSONResponse(
            {**problem, "errors": [{"detail": detail}]},
            status_code=response.status_code,
            headers=headers,
            media_type="application/problem+json",
        )
