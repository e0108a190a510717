"""Schemathesis CLI hooks for `make fuzz` (`SCHEMATHESIS_HOOKS=tests.fuzz.hooks`), against a live server.

Tokens are signed with the server's own settings (BETTER_AUTH_SECRET etc. from the environment or
`.env`, read by handlers/config.py like everything else).
"""

from __future__ import annotations

import json
import os
import urllib.request
from typing import Any

import schemathesis
from schemathesis.hooks import HookContext

from handlers.__main__ import mint_token
from handlers.core.config import load_settings
from tests.fuzz.contract import OWNER, BearerToken, make_isolation_check, pin_user_id, respect_prose_constraints

SETTINGS = load_settings()


def mint(user_id: str) -> str:
    return mint_token(SETTINGS, user_id)


def fetch(method: str, path: str, body: Any) -> tuple[int, Any]:
    """The live server (tests/fuzz/live.sh exports HOST and PORT), as the owner, by plain HTTP."""
    url = f"http://{os.environ['HOST']}:{os.environ['PORT']}/api{path}"
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Authorization": f"Bearer {mint(OWNER)}", "Content-Type": "application/json"}
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return response.status, json.loads(response.read())


@schemathesis.hook
def before_load_schema(context: HookContext, raw_schema: dict[str, Any]) -> None:
    pin_user_id(raw_schema)


@schemathesis.auth()
class OwnerToken(BearerToken):
    """Schemathesis instantiates the provider without arguments."""

    def __init__(self) -> None:
        super().__init__(mint)


@schemathesis.hook
def before_call(context: HookContext, case: Any, **kwargs: Any) -> None:
    respect_prose_constraints(case, mint, fetch)


schemathesis.check(make_isolation_check(mint))
