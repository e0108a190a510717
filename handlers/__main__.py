"""Command line: `python -m handlers serve` runs the API; `python -m handlers token SUB` mints a token."""

from __future__ import annotations

import argparse
import sys
import time

import jwt

from handlers.auth.verifier import USER_ID
from handlers.core.config import ConfigError, Settings, load_settings
from handlers.core.logs import configure_logging
from handlers.core.urls import BASE_PATH, HEALTH_PATH, SWAGGER_UI_PATH
from handlers.runtime import serving


def mint_token(settings: Settings, user_id: str, ttl_seconds: int = 3600) -> str:
    now = int(time.time())
    claims: dict[str, object] = {"sub": user_id, "iat": now, "exp": now + ttl_seconds}
    if settings.jwt_issuer:
        claims["iss"] = settings.jwt_issuer
    if settings.jwt_audience:
        claims["aud"] = settings.jwt_audience
    return jwt.encode(claims, settings.better_auth_secret.encode(), algorithm="HS256")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m handlers")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the API with uvicorn")
    serve.add_argument("--workers", type=int, default=1)
    token = commands.add_parser("token", help="print a 1-hour token for a user")
    token.add_argument("user")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.command == "token":
        if not settings.better_auth_secret:  # with only BETTER_AUTH_URL, tokens come from the frontend
            message = "make token signs HS256 with BETTER_AUTH_SECRET, which is not set; with only BETTER_AUTH_URL"
            print(f"error: {message}, use a token from the frontend (GET /api/auth/token)", file=sys.stderr)
            return 2
        if not USER_ID.fullmatch(args.user):  # the rule the API applies to a token's `sub`
            print("error: a user id is 1-255 characters, with no control characters and no /", file=sys.stderr)
            return 2
        print(mint_token(settings, args.user))
        return 0
    configure_logging(settings.log_level, settings.log_format)
    base = f"http://{settings.host}:{settings.port}"
    print(f"Task API on {base}{BASE_PATH}/", flush=True)
    print(f"  Swagger UI  {base}{SWAGGER_UI_PATH}  (make token prints a token for Authorize)", flush=True)
    print(f"  health      {base}{HEALTH_PATH}", flush=True)
    return serving.serve(settings, args.workers)


if __name__ == "__main__":
    sys.exit(main())
