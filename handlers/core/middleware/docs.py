"""The spec as written, and a way in for anyone who opens the base URL."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from handlers.core.urls import BASE_PATH, SWAGGER_UI_PATH


class SpecDocumentMiddleware:
    """`/api/openapi.json` and `/api/openapi.yaml` answer the hand-written openapi.yaml, `$ref`s and
    named schemas intact: Connexion serves its dereferenced copy (75 KB, no `$ref`), from which client
    generators lose every named type (openapi-typescript: 1,944 lines and no `Task`). `/api` and `/api/`
    redirect to Swagger UI rather than answering 404."""

    def __init__(self, app: ASGIApp, spec: dict[str, Any], spec_yaml: bytes) -> None:
        self.app = app
        self.documents = {
            f"{BASE_PATH}/openapi.json": Response(orjson.dumps(spec), media_type="application/json"),
            f"{BASE_PATH}/openapi.yaml": Response(spec_yaml, media_type="application/yaml"),
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD"):
            path = scope["path"]
            if path in (BASE_PATH, f"{BASE_PATH}/"):
                await RedirectResponse(SWAGGER_UI_PATH, status_code=302)(scope, receive, send)
                return
            if path in self.documents:
                await self.documents[path](scope, receive, send)
                return
        await self.app(scope, receive, send)
