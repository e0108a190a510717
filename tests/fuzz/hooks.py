"""Schemathesis CLI hooks for `make fuzz` (`SCHEMATHESIS_HOOKS=tests.fuzz.hooks`), against a live server.

Tokens are signed with the server's own settings (BETTER_AUTH_SECRET etc. from the environment or
`.env`, read by handlers/config.py like everything else).
"""

from __future__ import annotations

from typing import Any

import schemathesis
from schemathesis.hooks import HookContext

from handlers.__main__ import mint_token
from handlers.core.config import load_settings
from tests.fuzz.contract import BearerToken, make_isolation_check, pin_user_id, respect_prose_constraints

SETTINGS = load_settings()


def mint(user_id: str) -> str:
    return mint_token(SETTINGS, user_id)


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
    respect_prose_constraints(case, mint)


schemathesis.check(make_isolation_check(mint))
