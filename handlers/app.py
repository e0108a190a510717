"""The app factory: the spec routed by Connexion, with the middleware and error handlers around it."""

from __future__ import annotations

import asyncio
import copy
import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import yaml
from connexion import AsyncApp
from connexion.middleware import MiddlewarePosition
from connexion.options import SwaggerUIOptions
from sqlalchemy import Engine

from handlers.auth import verifier_for
from handlers.core import housekeeping, metrics
from handlers.core.config import Settings, load_settings
from handlers.core.context import AppContext
from handlers.core.logs import configure_logging
from handlers.core.middleware.body_limit import RequestBodyMiddleware
from handlers.core.middleware.docs import SpecDocumentMiddleware
from handlers.core.middleware.rate_limit import FailedTokenLimitMiddleware, RateLimitMiddleware
from handlers.core.middleware.request_context import RequestContextMiddleware
from handlers.core.middleware.request_head import RequestHeadMiddleware
from handlers.core.middleware.request_metrics import RequestMetricsMiddleware
from handlers.core.middleware.security_headers import SecurityHeadersMiddleware
from handlers.core.problems import AllowedMethods, make_error_handlers
from handlers.core.rate_limits import RateLimits
from handlers.core.resolver import TaggedResolver
from handlers.core.urls import BASE_PATH
from handlers.runtime.cors import ProblemCORSMiddleware
from handlers.runtime.handler_slots import HandlerSlots
from handlers.runtime.operations import SECURITY_MAP, use_prebuilt_operations
from handlers.runtime.routing import ask_swagger_ui_for_docs_only, connexion_middlewares
from handlers.runtime.validation import validator_map
from models.db import make_engine, waits_yield

ROOT = Path(__file__).resolve().parent.parent
SPEC_FILE = ROOT / "openapi.yaml"
# What cross-origin JavaScript may read; some are added by other work (ETag, idempotency, rate limits).
EXPOSED_HEADERS = [
    "Location",
    "Link",
    "X-Total-Count",
    "X-Request-ID",
    "Retry-After",
    "WWW-Authenticate",
    "ETag",
    "Idempotent-Replayed",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
]
# Swagger UI keeps the token across reloads (in the page's localStorage, as the user's own browser).
SWAGGER_UI = SwaggerUIOptions(swagger_ui_config={"persistAuthorization": True})


@functools.cache
def _parsed_spec() -> dict[str, Any]:
    # libyaml's loader: the pure-Python one took ~85 ms of the ~107 ms a create_app took (tests make hundreds).
    spec: dict[str, Any] = yaml.load(SPEC_FILE.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    return spec


def load_spec() -> dict[str, Any]:
    """openapi.yaml as a dict of this app's own (Connexion resolves `$ref`s in place): a copy, ~1 ms."""
    return copy.deepcopy(_parsed_spec())


def create_app(settings: Settings | None = None) -> AsyncApp:
    settings = settings or load_settings()
    configure_logging(settings.log_level, settings.log_format)
    context = AppContext(settings=settings, engine=engine_for(settings), verifier=verifier_for(settings))

    @asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        chores = asyncio.create_task(housekeeping.run(context.engine, settings))
        yield
        chores.cancel()
        context.verifier.close()  # a JWKS fetch still in flight
        context.engine.dispose()  # close pooled connections on shutdown
        metrics.process_ended()

    spec = load_spec()
    app = AsyncApp(__name__, lifespan=lifespan, middlewares=connexion_middlewares(), security_map=SECURITY_MAP)
    slots = HandlerSlots(settings.db_pool_size, settings.db_pool_timeout, waits_yield(context.engine))
    use_prebuilt_operations(app, slots)  # before add_api
    app.add_api(
        spec,
        base_path=BASE_PATH,
        resolver=TaggedResolver(spec),  # `listTasks` tagged `tasks` → handlers.tasks.list_tasks
        pythonic_params=True,  # the `id` path parameter arrives as `id_`
        strict_validation=True,  # a misspelt query parameter (`?stauts=`) is a 400, not silently ignored
        validate_responses=settings.validate_responses,
        validator_map=validator_map(),
        swagger_ui_options=SWAGGER_UI,
    )
    if settings.metrics_enabled:  # first, so outermost: every response is counted, CORS preflights too
        metrics.watch_pool(context.engine)
        serve_metrics = settings.metrics_port is None  # else the server exposes them on their own port
        app.add_middleware(
            RequestMetricsMiddleware, position=MiddlewarePosition.BEFORE_EXCEPTION, serve_metrics=serve_metrics
        )
    # Outermost first (Connexion inserts each before the marker): a preflight the CORS middleware answers
    # itself still gets the request id and the security headers.
    app.add_middleware(RequestContextMiddleware, position=MiddlewarePosition.BEFORE_EXCEPTION, context=context)
    app.add_middleware(SecurityHeadersMiddleware, position=MiddlewarePosition.BEFORE_EXCEPTION)
    app.add_middleware(
        ProblemCORSMiddleware,
        position=MiddlewarePosition.BEFORE_EXCEPTION,  # so error responses carry CORS headers too
        allow_origins=list(settings.cors_origins),
        allow_credentials=True,
        allow_methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
        allow_headers=["*"],  # echo what the browser asks for (tracing headers included); origins stay listed
        expose_headers=EXPOSED_HEADERS,
    )
    limits = RateLimits(settings)
    if limits.read or limits.write:
        app.add_middleware(FailedTokenLimitMiddleware, position=MiddlewarePosition.BEFORE_SECURITY, limits=limits)
        # After the token and user checks (401/403 come first), before the body is read.
        app.add_middleware(RateLimitMiddleware, position=MiddlewarePosition.BEFORE_VALIDATION, limits=limits)
    spec_yaml = SPEC_FILE.read_bytes()
    app.add_middleware(
        SpecDocumentMiddleware, position=MiddlewarePosition.BEFORE_EXCEPTION, spec=_parsed_spec(), spec_yaml=spec_yaml
    )
    # Inside the error handlers (its 400/404 are problems), before Swagger UI and routing see the path.
    app.add_middleware(RequestHeadMiddleware, position=MiddlewarePosition.BEFORE_SWAGGER)
    # After the token and user checks (401/403 come first), before body validation.
    app.add_middleware(RequestBodyMiddleware, position=MiddlewarePosition.BEFORE_VALIDATION)
    for exc_class, handler in make_error_handlers(AllowedMethods(BASE_PATH, spec["paths"])):
        app.add_error_handler(exc_class, handler)
    ask_swagger_ui_for_docs_only(app)  # after the last add_middleware
    return app


def engine_for(settings: Settings) -> Engine:
    # Autocommit: every handler's statement is its own transaction but create's (models.db).
    return make_engine(settings.database_url, autocommit=True, **settings.engine_options())
