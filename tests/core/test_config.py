"""Settings: the environment and .env are read in one place, and weak secrets are refused."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from handlers.core.config import PLACEHOLDER_SECRET, ConfigError, Settings, load_settings, redact_url
from tests.support.databases import ROOT

STRONG = "k" * 32


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        ("", "neither BETTER_AUTH_SECRET"),
        ("short", "at least 32 bytes"),
        ("x" * 31, "at least 32 bytes"),
        (PLACEHOLDER_SECRET, "placeholder"),
    ],
)
def test_weak_secrets_are_refused(secret: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings({"BETTER_AUTH_SECRET": secret}, dotenv=None)


def test_secret_length_counts_bytes() -> None:
    assert load_settings({"BETTER_AUTH_SECRET": "é" * 16}, dotenv=None).better_auth_secret == "é" * 16


def test_placeholder_in_env_example_is_the_one_refused() -> None:
    example = ROOT / ".env.example"
    assert f"BETTER_AUTH_SECRET={PLACEHOLDER_SECRET}" in example.read_text()


def test_defaults() -> None:
    settings = load_settings({"BETTER_AUTH_SECRET": STRONG}, dotenv=None)
    assert settings.database_url == "sqlite:///./todo.db"
    assert settings.cors_origins == ("http://localhost:3000",)
    assert (settings.host, settings.port, settings.log_format) == ("127.0.0.1", 8000, "text")
    assert settings.validate_responses is False


def test_environment_wins_over_dotenv(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text(f"# comment\nBETTER_AUTH_SECRET={STRONG}\nPORT=9000\nHOST='0.0.0.0'\nLOG_FORMAT=json\n")
    settings = load_settings({"PORT": "9100", "CORS_ORIGINS": "https://a.example, https://b.example"}, dotenv)
    assert (settings.port, settings.host, settings.log_format) == (9100, "0.0.0.0", "json")
    assert settings.cors_origins == ("https://a.example", "https://b.example")


def test_dotenv_is_read_as_python_dotenv_reads_it(tmp_path: Path) -> None:
    """Inline comments, quotes with `#` inside, `export`, spaces around `=`: what .env files hold."""
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        f"export BETTER_AUTH_SECRET={STRONG}\n"
        "PORT=8001 # dev port\n"
        "HOST = 127.0.0.2\n"
        'CORS_ORIGINS="http://localhost:3000#not-a-comment"\n'
        "LOG_LEVEL=warning   # quieter\n"
        "JWT_ISSUER=\n"
    )
    settings = load_settings({}, dotenv)
    assert (settings.port, settings.host, settings.log_level) == (8001, "127.0.0.2", "WARNING")
    assert settings.cors_origins == ("http://localhost:3000#not-a-comment",)
    assert settings.jwt_issuer is None


@pytest.mark.parametrize(
    "env",
    [
        {"CORS_ORIGINS": "*"},
        {"PORT": "70000"},
        {"DATABASE_URL": "mysql://x/y"},
        {"DATABASE_URL": "not a url"},
        {"PORT": "eighty"},
        {"LOG_FORMAT": "xml"},
        {"LOG_LEVEL": "LOUD"},
        {"DB_POOL_SIZE": "0"},  # SQLAlchemy's "no limit", and no handler could ever run
        {"DB_MAX_OVERFLOW": "-1"},
    ],
)
def test_invalid_values_are_refused(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError):
        load_settings({"BETTER_AUTH_SECRET": STRONG, **env}, dotenv=None)


def test_secret_never_in_repr() -> None:
    settings = Settings(better_auth_secret=STRONG, database_url="postgresql://u:pw@h/db")
    assert STRONG not in repr(settings) and "pw" not in repr(settings)
    assert redact_url("postgresql://u:pw@h/db") == "postgresql://u:***@h/db"


def run_cli(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m handlers …` in a directory with no .env, with only these variables set."""
    return subprocess.run(  # noqa: S603 (the arguments are the test's own constants)
        [sys.executable, "-m", "handlers", *args],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_cli_refuses_to_start_with_one_clear_line(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "serve")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: neither BETTER_AUTH_SECRET (HS256) nor BETTER_AUTH_URL (jwt plugin) is set; set one in .env"
    ]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"DATABASE_URL": "mysql://x/y"},
            "error: DATABASE_URL must be a sqlite:// or postgresql:// URL, got 'mysql://x/y'",
        ),
        (
            {"DATABASE_URL": "postgresql://u:pw@h:notaport/db"},
            "error: DATABASE_URL is not a valid URL: 'postgresql://u:***@h:notaport/db'",
        ),
        ({"PORT": "70000"}, "error: PORT must be between 1 and 65535"),
    ],
)
def test_cli_refuses_unusable_settings_with_one_line(tmp_path: Path, env: dict[str, str], message: str) -> None:
    result = run_cli(tmp_path, "serve", BETTER_AUTH_SECRET=STRONG, **env)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [message]
    assert "pw" not in result.stderr


def test_cli_mints_a_token_for_the_configured_secret(tmp_path: Path) -> None:
    import jwt

    result = run_cli(tmp_path, "token", "alice", BETTER_AUTH_SECRET=STRONG)
    assert result.returncode == 0, result.stderr
    claims = jwt.decode(result.stdout.strip(), STRONG, algorithms=["HS256"])
    assert claims["sub"] == "alice" and claims["exp"] - claims["iat"] == 3600


def test_better_auth_url_alone_is_enough() -> None:
    settings = load_settings({"BETTER_AUTH_URL": "http://localhost:3000/"}, dotenv=None)
    assert settings.better_auth_secret == ""
    assert settings.jwks_url == "http://localhost:3000/api/auth/jwks"
    assert (settings.jwks_issuer, settings.jwks_audience) == ("http://localhost:3000", "http://localhost:3000")
    assert (settings.jwks_cache_seconds, settings.jwks_refetch_seconds, settings.jwks_timeout_seconds) == (300, 5, 3)


def test_jwks_url_issuer_and_audience_overrides() -> None:
    settings = load_settings(
        {
            "BETTER_AUTH_URL": "https://App.Example:443/app",
            "BETTER_AUTH_JWKS_URL": "https://keys.example/jwks.json",
            "JWT_AUDIENCE": "https://api.example",
            "JWKS_REFETCH_SECONDS": "1.5",
        },
        dotenv=None,
    )
    assert settings.jwks_url == "https://keys.example/jwks.json"
    assert (settings.jwks_issuer, settings.jwks_audience) == ("https://app.example", "https://api.example")
    assert settings.jwks_refetch_seconds == 1.5


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"BETTER_AUTH_URL": "localhost:3000"}, "BETTER_AUTH_URL must be an http"),
        ({"BETTER_AUTH_URL": "http://localhost:abc"}, "BETTER_AUTH_URL must be an http"),
        ({"BETTER_AUTH_URL": "http://a.example", "BETTER_AUTH_JWKS_URL": "file:///jwks"}, "JWKS_URL must be an http"),
        ({"BETTER_AUTH_SECRET": STRONG, "BETTER_AUTH_JWKS_URL": "http://a.example/jwks"}, "without BETTER_AUTH_URL"),
        ({"BETTER_AUTH_URL": "http://a.example", "JWKS_TIMEOUT_SECONDS": "0"}, "JWKS_TIMEOUT_SECONDS"),
        ({"BETTER_AUTH_URL": "http://a.example", "JWKS_CACHE_SECONDS": "nan"}, "JWKS_CACHE_SECONDS"),
        ({"BETTER_AUTH_URL": "http://a.example", "JWKS_REFETCH_SECONDS": "soon"}, "must be a number"),
        ({"BETTER_AUTH_URL": "http://a.example", "BETTER_AUTH_SECRET": "short"}, "at least 32 bytes"),
    ],
)
def test_invalid_better_auth_settings_are_refused(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(env, dotenv=None)


def test_cli_token_needs_the_secret(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "token", "alice", BETTER_AUTH_URL="http://localhost:3000")
    assert result.returncode == 2 and result.stdout == ""
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: make token signs HS256 with BETTER_AUTH_SECRET, which is not set")


@pytest.mark.parametrize(
    "name",
    [
        "db_statement_timeout",
        "db_pool_timeout",
        "db_connect_timeout",
        "shutdown_timeout",
        "http_idle_timeout",
        "http_head_timeout",
        "http_body_timeout",
    ],
)
def test_unbounded_waits_are_refused(name: str) -> None:
    for value in (0, -1, float("nan"), float("inf")):
        with pytest.raises(ConfigError, match="positive"):
            Settings(better_auth_secret=STRONG, **{name: value})  # type: ignore[arg-type]


def test_connection_bounds_are_read_from_the_environment() -> None:
    env = {"HTTP_IDLE_TIMEOUT": "2.5", "HTTP_HEAD_TIMEOUT": "3", "HTTP_BODY_TIMEOUT": "4", "HTTP_MAX_CONNECTIONS": "7"}
    settings = load_settings({"BETTER_AUTH_SECRET": STRONG, **env}, dotenv=None)
    bounds = (settings.http_idle_timeout, settings.http_head_timeout, settings.http_body_timeout)
    assert bounds == (2.5, 3.0, 4.0) and settings.http_max_connections == 7
    with pytest.raises(ConfigError, match="HTTP_MAX_CONNECTIONS"):
        load_settings({"BETTER_AUTH_SECRET": STRONG, "HTTP_MAX_CONNECTIONS": "0"}, dotenv=None)
    example = (ROOT / ".env.example").read_text()
    assert all(f"\n{name}=" in example for name in env)
