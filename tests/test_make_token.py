"""`make token`: whom it mints for (SUB, default alice, `USER=` on the command line honoured, never the
shell's $USER), and the ids it refuses (the API's own rule for a token's `sub`)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.core.test_config import STRONG, run_cli
from tests.support.databases import ROOT


def token_command(*args: str, **env: str) -> str:
    """The command `make token` would run (prerequisites taken as made)."""
    result = subprocess.run(  # noqa: S603 (fixed arguments)
        ["make", "-s", "-n", "-o", ".venv/bin/.runtime-installed", "-o", ".env", "token", *args],  # noqa: S607
        cwd=ROOT,
        env={**os.environ, "USER": "root", **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def test_make_token_defaults_to_alice_whatever_the_shell_user() -> None:
    assert token_command().endswith('-m handlers token "alice"')


def test_make_token_takes_sub_or_user_from_the_command_line() -> None:
    assert token_command("SUB=bob").endswith('token "bob"')
    assert token_command("USER=carol").endswith('token "carol"')


@pytest.mark.parametrize("user_id", ["a/b", "tab\there", "x" * 256, ""])
def test_an_id_the_api_would_refuse_is_refused(tmp_path: Path, user_id: str) -> None:
    result = run_cli(tmp_path, "token", user_id, BETTER_AUTH_SECRET=STRONG)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == "error: a user id is 1-255 characters, with no control characters and no /\n"


def test_an_id_the_api_accepts_gets_a_token(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "token", "7URB5sIutWGwOaEcJNaVnXimakBC0vXY", BETTER_AUTH_SECRET=STRONG)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(".") == 2
