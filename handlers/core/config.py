"""The one place that reads the environment: settings from environment variables and `.env`."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from dotenv import dotenv_values
from limits import parse as parse_rate_limit
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from models.db import EngineOptions

PLACEHOLDER_SECRET = "change-me-to-a-random-string-of-at-least-32-bytes"  # noqa: S105 (the one refused)
MIN_SECRET_BYTES = 32
LOG_FORMATS = ("text", "json")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# The database URLs the engine can serve (models/db.py): SQLite, and PostgreSQL through psycopg2.
DATABASE_DRIVERS = ("sqlite", "sqlite+pysqlite", "postgres", "postgresql", "postgresql+psycopg2")
# Where the rate-limit counters live: this process's memory, or a Redis every worker and replica shares.
RATE_LIMIT_SCHEMES = ("memory", "redis", "rediss")


class ConfigError(Exception):
    """The configuration is unusable; the message is one line meant for the operator."""


@dataclass(frozen=True)
class Settings:
    better_auth_secret: str = ""  # HS256 tokens are accepted when it is set
    # Better Auth's jwt plugin: EdDSA/ES*/RS*/PS256 tokens checked against its JWKS, when the URL is set.
    better_auth_url: str | None = None
    better_auth_jwks_url: str | None = None  # default: {better_auth_url}/api/auth/jwks
    jwks_cache_seconds: float = 300.0
    jwks_refetch_seconds: float = 5.0  # at most one fetch per interval, however many unknown `kid`s arrive
    jwks_timeout_seconds: float = 3.0
    database_url: str = "sqlite:///./todo.db"
    cors_origins: tuple[str, ...] = ("http://localhost:3000",)
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "INFO"
    log_format: str = "text"
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    db_pool_size: int = 10
    db_max_overflow: int = 5
    db_pool_timeout: float = 5.0
    db_pool_recycle: int = 300
    db_connect_timeout: int = 5
    db_statement_timeout: float = 5.0
    # Seconds uvicorn lets in-flight requests finish after SIGTERM before cancelling them.
    shutdown_timeout: int = 20
    # A connection's bounds (handlers/runtime/protocol.py), per worker: seconds a connection may sit idle
    # (before its first request and between requests), seconds for a request's head and for its body
    # (each a total: trickling does not extend it), and how many may be open at once.
    http_idle_timeout: float = 5.0
    http_head_timeout: float = 10.0
    http_body_timeout: float = 30.0
    http_max_connections: int = 1000
    # Checking every response against the spec costs ~60 % CPU: on in tests and CI, off in production.
    validate_responses: bool = False
    # Per-user limits in the `limits` notation ("600/minute"); "" turns one off. See docs/operations.md.
    rate_limit_read: str = "1200/minute"
    rate_limit_write: str = "300/minute"
    rate_limit_storage: str = "memory://"
    metrics_enabled: bool = True
    metrics_port: int | None = None  # None: GET /metrics on the API's own port
    require_if_match: bool = False  # when true, a task or tag write without If-Match is a 428
    idempotency_ttl_hours: float = 24.0
    tombstone_days: float = 30.0
    cursor_secret: str = ""  # signs change-feed cursors; default: derived from BETTER_AUTH_SECRET

    def cursor_secret_material(self) -> str:
        """What feed cursors are signed with: the same on every replica of one deployment. A JWKS-only
        deployment without CURSOR_SECRET falls back to the database URL (its password is a secret)."""
        return self.cursor_secret or self.better_auth_secret or self.database_url

    def __post_init__(self) -> None:
        secret = self.better_auth_secret
        if not secret and not self.better_auth_url:
            raise ConfigError(
                "neither BETTER_AUTH_SECRET (HS256) nor BETTER_AUTH_URL (jwt plugin) is set; set one in .env"
            )
        if secret == PLACEHOLDER_SECRET:
            raise ConfigError("BETTER_AUTH_SECRET is still the .env.example placeholder; set a random one")
        if secret and len(secret.encode()) < MIN_SECRET_BYTES:
            raise ConfigError(f"BETTER_AUTH_SECRET must be at least {MIN_SECRET_BYTES} bytes long")
        for name, url in (("BETTER_AUTH_URL", self.better_auth_url), ("BETTER_AUTH_JWKS_URL", self.jwks_url)):
            try:
                if url:
                    origin(url)
            except ValueError:
                raise ConfigError(f"{name} must be an http(s) URL, got {url!r}") from None
        if self.better_auth_jwks_url and not self.better_auth_url:
            # The JWKS alone does not say which issuer and audience its tokens must name.
            raise ConfigError("BETTER_AUTH_JWKS_URL is set without BETTER_AUTH_URL; set BETTER_AUTH_URL too")
        jwks_seconds = (self.jwks_cache_seconds, self.jwks_refetch_seconds, self.jwks_timeout_seconds)
        if not all(0 < seconds <= 86400 for seconds in jwks_seconds):  # NaN fails this too
            raise ConfigError("JWKS_CACHE_SECONDS, JWKS_REFETCH_SECONDS, JWKS_TIMEOUT_SECONDS must be in (0, 86400]")
        check_database_url(self.database_url)
        if not 1 <= self.port <= 65535:
            raise ConfigError("PORT must be between 1 and 65535")
        if "*" in self.cors_origins:
            # Credentialed CORS with a wildcard would let any site act with a user's credentials.
            raise ConfigError("CORS_ORIGINS must list origins explicitly; '*' is not allowed")
        if self.log_level not in LOG_LEVELS:
            raise ConfigError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}")
        if self.log_format not in LOG_FORMATS:
            raise ConfigError(f"LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}")
        # A zero or negative bound would mean "wait for ever" somewhere (libpq, PostgreSQL, uvicorn).
        bounds = {
            "DB_CONNECT_TIMEOUT": self.db_connect_timeout,
            "DB_STATEMENT_TIMEOUT": self.db_statement_timeout,
            "DB_POOL_TIMEOUT": self.db_pool_timeout,
            "SHUTDOWN_TIMEOUT": self.shutdown_timeout,
            "HTTP_IDLE_TIMEOUT": self.http_idle_timeout,
            "HTTP_HEAD_TIMEOUT": self.http_head_timeout,
            "HTTP_BODY_TIMEOUT": self.http_body_timeout,
        }
        for name, value in bounds.items():
            if not 0 < value < float("inf"):  # NaN fails this too
                raise ConfigError(f"{name} must be a positive number of seconds")
        if self.http_max_connections < 1:
            raise ConfigError("HTTP_MAX_CONNECTIONS must be at least 1")
        for name, limit in (("RATE_LIMIT_READ", self.rate_limit_read), ("RATE_LIMIT_WRITE", self.rate_limit_write)):
            try:
                if limit and (";" in limit or parse_rate_limit(limit).amount < 1):  # one limit per setting
                    raise ValueError(limit)
            except ValueError:
                raise ConfigError(f"{name} must be like 600/minute (or 0 to turn it off), got {limit!r}") from None
        if urlsplit(self.rate_limit_storage).scheme not in RATE_LIMIT_SCHEMES:
            raise ConfigError("RATE_LIMIT_STORAGE must be memory:// or redis://host:port/n")
        if self.metrics_port is not None and not 1 <= self.metrics_port <= 65535:
            raise ConfigError("METRICS_PORT must be between 1 and 65535")
        # SQLAlchemy reads pool_size=0 as "no limit", but it is also how many handlers run at once.
        if self.db_pool_size < 1 or self.db_max_overflow < 0:
            raise ConfigError("DB_POOL_SIZE must be at least 1 and DB_MAX_OVERFLOW at least 0")

    @property
    def jwks_url(self) -> str | None:
        if self.better_auth_jwks_url or not self.better_auth_url:
            return self.better_auth_jwks_url
        return f"{self.better_auth_url.rstrip('/')}/api/auth/jwks"

    @property
    def jwks_issuer(self) -> str | None:
        """The `iss` the jwt plugin's tokens must carry: JWT_ISSUER, or else the frontend's origin."""
        return self.jwt_issuer or (origin(self.better_auth_url) if self.better_auth_url else None)

    @property
    def jwks_audience(self) -> str | None:
        return self.jwt_audience or (origin(self.better_auth_url) if self.better_auth_url else None)

    def engine_options(self) -> EngineOptions:
        """`models.db.make_engine`'s pool and timeout arguments, from these settings."""
        return {
            "pool_size": self.db_pool_size,
            "max_overflow": self.db_max_overflow,
            "pool_timeout": self.db_pool_timeout,
            "pool_recycle": self.db_pool_recycle,
            "connect_timeout": self.db_connect_timeout,
            "statement_timeout": self.db_statement_timeout,
        }

    def __repr__(self) -> str:
        # Keep the secret out of any log line or traceback that prints the settings.
        return f"Settings(database_url={redact_url(self.database_url)!r}, better_auth_secret='***')"


def origin(url: str) -> str:
    """An http(s) URL's origin as Better Auth's jwt plugin writes it in `iss` and `aud` (JavaScript's
    `new URL(url).origin`: lower-case scheme and host, no default port, no path); ValueError if none."""
    parts = urlsplit(url)
    scheme, host, port = parts.scheme.lower(), parts.hostname, parts.port  # `.port` checks it is a number
    if scheme not in ("http", "https") or not host:
        raise ValueError(f"not an http(s) URL: {url!r}")
    host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{host}" + (f":{port}" if port not in (None, {"http": 80, "https": 443}[scheme]) else "")


def redact_url(url: str) -> str:
    """The URL without its password, for messages."""
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not at or ":" not in credentials:
        return url
    return f"{scheme}{sep}{credentials.split(':', 1)[0]}:***@{host}"


def check_database_url(url: str) -> None:
    """ConfigError unless `url` is a database URL the engine can serve."""
    try:
        drivername = make_url(url).drivername
    except (ArgumentError, ValueError):  # unparsable, or a port that is not a number
        raise ConfigError(f"DATABASE_URL is not a valid URL: {redact_url(url)!r}") from None
    if drivername not in DATABASE_DRIVERS:
        raise ConfigError(f"DATABASE_URL must be a sqlite:// or postgresql:// URL, got {redact_url(url)!r}")


def read_dotenv(path: Path) -> dict[str, str]:
    """A `.env` file as python-dotenv reads it (inline `# comments`, quotes, `export`); a line with no
    `=` sets nothing."""
    if not path.is_file():
        return {}
    return {key: value for key, value in dotenv_values(path, encoding="utf-8").items() if value is not None}


def environment(env: dict[str, str] | None, dotenv: Path | None) -> dict[str, str]:
    """`.env` overlaid by the real environment (which wins)."""
    return {**(read_dotenv(dotenv) if dotenv else {}), **(os.environ if env is None else env)}


def load_database_url(env: dict[str, str] | None = None, dotenv: Path | None = Path(".env")) -> str:
    """Just DATABASE_URL, for tools (migrations) that need no secret."""
    return environment(env, dotenv).get("DATABASE_URL") or Settings.database_url


def load_settings(env: dict[str, str] | None = None, dotenv: Path | None = Path(".env")) -> Settings:
    """Settings from `.env` overlaid by the real environment (which wins)."""
    values = environment(env, dotenv)

    def get(name: str) -> str | None:
        return values.get(name) or None

    def number(name: str, default: float, kind: type = int) -> float:
        raw = get(name)
        try:
            return kind(raw) if raw is not None else default
        except ValueError:
            raise ConfigError(f"{name} must be a number, got {raw!r}") from None

    def flag(name: str, *, default: bool) -> bool:
        raw = get(name)
        return default if raw is None else raw.lower() in ("1", "true", "yes")

    def rate_limit(name: str, default: str) -> str:
        raw = values.get(name)  # set but empty turns the limit off, as "0" does
        if raw is None:
            return default
        return "" if raw.strip() in ("", "0") else raw.strip()

    origins = tuple(o.strip() for o in (get("CORS_ORIGINS") or "http://localhost:3000").split(",") if o.strip())
    return Settings(
        better_auth_secret=values.get("BETTER_AUTH_SECRET", ""),
        better_auth_url=get("BETTER_AUTH_URL"),
        better_auth_jwks_url=get("BETTER_AUTH_JWKS_URL"),
        jwks_cache_seconds=number("JWKS_CACHE_SECONDS", Settings.jwks_cache_seconds, float),
        jwks_refetch_seconds=number("JWKS_REFETCH_SECONDS", Settings.jwks_refetch_seconds, float),
        jwks_timeout_seconds=number("JWKS_TIMEOUT_SECONDS", Settings.jwks_timeout_seconds, float),
        database_url=get("DATABASE_URL") or Settings.database_url,
        cors_origins=origins,
        host=get("HOST") or Settings.host,
        port=int(number("PORT", Settings.port)),
        log_level=(get("LOG_LEVEL") or Settings.log_level).upper(),
        log_format=(get("LOG_FORMAT") or Settings.log_format).lower(),
        jwt_issuer=get("JWT_ISSUER"),
        jwt_audience=get("JWT_AUDIENCE"),
        db_pool_size=int(number("DB_POOL_SIZE", Settings.db_pool_size)),
        db_max_overflow=int(number("DB_MAX_OVERFLOW", Settings.db_max_overflow)),
        db_pool_timeout=number("DB_POOL_TIMEOUT", Settings.db_pool_timeout, float),
        db_pool_recycle=int(number("DB_POOL_RECYCLE", Settings.db_pool_recycle)),
        db_connect_timeout=int(number("DB_CONNECT_TIMEOUT", Settings.db_connect_timeout)),
        db_statement_timeout=number("DB_STATEMENT_TIMEOUT", Settings.db_statement_timeout, float),
        shutdown_timeout=int(number("SHUTDOWN_TIMEOUT", Settings.shutdown_timeout)),
        validate_responses=flag("VALIDATE_RESPONSES", default=False),
        rate_limit_read=rate_limit("RATE_LIMIT_READ", Settings.rate_limit_read),
        rate_limit_write=rate_limit("RATE_LIMIT_WRITE", Settings.rate_limit_write),
        rate_limit_storage=get("RATE_LIMIT_STORAGE") or Settings.rate_limit_storage,
        metrics_enabled=flag("METRICS_ENABLED", default=True),
        metrics_port=int(number("METRICS_PORT", 0)) or None,
        http_idle_timeout=number("HTTP_IDLE_TIMEOUT", Settings.http_idle_timeout, float),
        http_head_timeout=number("HTTP_HEAD_TIMEOUT", Settings.http_head_timeout, float),
        http_body_timeout=number("HTTP_BODY_TIMEOUT", Settings.http_body_timeout, float),
        http_max_connections=int(number("HTTP_MAX_CONNECTIONS", Settings.http_max_connections)),
        require_if_match=(get("REQUIRE_IF_MATCH") or "false").lower() in ("1", "true", "yes"),
        idempotency_ttl_hours=number("IDEMPOTENCY_TTL_HOURS", Settings.idempotency_ttl_hours, float),
        tombstone_days=number("TOMBSTONE_DAYS", Settings.tombstone_days, float),
        cursor_secret=values.get("CURSOR_SECRET", ""),
    )
