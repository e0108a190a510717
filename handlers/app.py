"""The app factory: the spec routed by Connexion, with the middleware and error handlers around it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import yaml
from connexion import AsyncApp
from connexion.datastructures import MediaTypeDict
from connexion.middleware import ConnexionMiddleware, MiddlewarePosition
from connexion.middleware.routing import RoutingMiddleware
from connexion.validators import VALIDATOR_MAP
from sqlalchemy import Engine
from starlette.middleware.cors import CORSMiddleware

from handlers.config import Settings, load_settings
from handlers.context import AppContext, RequestContextMiddleware
from handlers.headers import SecurityHeadersMiddleware
from handlers.http import LenientRoutingMiddleware, RequestBodyMiddleware
from handlers.jwks import JwksKeys
from handlers.logs import configure_logging
from handlers.operations import SECURITY_MAP, HandlerSlots, use_prebuilt_operations
from handlers.problems import AllowedMethods, make_error_handlers
from handlers.security import KeySource, SharedSecret, TokenVerifier
from handlers.token_cache import CachingTokenVerifier
from handlers.validation import SpecParameterValidator, StrictJSONBodyValidator
from models.db import make_engine

ROOT = Path(__file__).resolve().parent.parent
SPEC_FILE = ROOT / "openapi.yaml"
BASE_PATH = "/api"
EXPOSED_HEADERS = ["Location", "Link", "X-Total-Count", "X-Request-ID", "Retry-After"]


def create_app(settings: Settings | None = None) -> AsyncApp:
    settings = settings or load_settings()
    configure_logging(settings.log_level, settings.log_format)
    context = AppContext(settings=settings, engine=engine_for(settings), verifier=verifier_for(settings))

    @asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        yield
        context.verifier.close()  # a JWKS fetch still in flight
        context.engine.dispose()  # close pooled connections on shutdown

    spec = yaml.safe_load(SPEC_FILE.read_text(encoding="utf-8"))
    middlewares = [
        LenientRoutingMiddleware if m is RoutingMiddleware else m for m in ConnexionMiddleware.default_middlewares
    ]
    app = AsyncApp(__name__, lifespan=lifespan, middlewares=middlewares, security_map=SECURITY_MAP)
    use_prebuilt_operations(app, HandlerSlots(settings.db_pool_size, settings.db_pool_timeout))  # before add_api
    app.add_api(
        spec,
        base_path=BASE_PATH,
        pythonic_params=True,  # the `id` path parameter arrives as `id_`
        strict_validation=True,  # a misspelt query parameter (`?stauts=`) is a 400, not silently ignored
        validate_responses=settings.validate_responses,
        validator_map={
            **VALIDATOR_MAP,
            "parameter": SpecParameterValidator,
            "body": MediaTypeDict({**VALIDATOR_MAP["body"], "*/*json": StrictJSONBodyValidator}),
        },
    )
    app.add_middleware(
        CORSMiddleware,
        position=MiddlewarePosition.BEFORE_EXCEPTION,  # so error responses carry CORS headers too
        allow_origins=list(settings.cors_origins),
        allow_credentials=True,
        allow_methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
        allow_headers=["*"],  # echo what the browser asks for (tracing headers included); origins stay listed
        expose_headers=EXPOSED_HEADERS,
    )
    app.add_middleware(RequestContextMiddleware, position=MiddlewarePosition.BEFORE_EXCEPTION, context=context)
    app.add_middleware(SecurityHeadersMiddleware, position=MiddlewarePosition.BEFORE_EXCEPTION)
    # After the token and user checks (401/403 come first), before body validation.
    app.add_middleware(RequestBodyMiddleware, position=MiddlewarePosition.BEFORE_VALIDATION)
    for exc_class, handler in make_error_handlers(AllowedMethods(BASE_PATH, spec["paths"])):
        app.add_error_handler(exc_class, handler)
    return app


def engine_for(settings: Settings) -> Engine:
    return make_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout,
        pool_recycle=settings.db_pool_recycle,
        connect_timeout=settings.db_connect_timeout,
        statement_timeout=settings.db_statement_timeout,
        autocommit=True,  # every handler's statement is its own transaction but create's (models.db)
    )


def verifier_for(settings: Settings) -> TokenVerifier:
    """HS256 with the shared secret, Better Auth's JWKS, or both: whichever is configured."""
    sources: list[KeySource] = []
    if settings.better_auth_secret:
        sources.append(SharedSecret(settings.better_auth_secret, settings.jwt_issuer, settings.jwt_audience))
    if settings.jwks_url:
        jwks = JwksKeys(
            settings.jwks_url,
            issuer=settings.jwks_issuer,
            audience=settings.jwks_audience,
            cache_seconds=settings.jwks_cache_seconds,
            refetch_seconds=settings.jwks_refetch_seconds,
            timeout_seconds=settings.jwks_timeout_seconds,
        )
        sources.append(jwks)
    return CachingTokenVerifier(sources)  # verified tokens are remembered until they expire
