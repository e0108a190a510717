"""The replaced layers of Connexion's stack (handlers/runtime/routing.py): each test fails if Connexion
stops honouring what the replacement relies on."""

from __future__ import annotations

from typing import Any

import pytest
from connexion.middleware import ConnexionMiddleware
from connexion.middleware.routing import RoutingMiddleware
from connexion.middleware.swagger_ui import SwaggerUIMiddleware
from starlette.testclient import TestClient

from handlers.app import create_app
from handlers.core.config import Settings
from handlers.runtime.routing import DocsOnlySwaggerUIMiddleware, LenientRoutingMiddleware
from tests.support.helpers import auth, create_task


def test_the_replaced_layers_are_in_the_apps_stack(settings: Settings) -> None:
    assert {RoutingMiddleware, SwaggerUIMiddleware} <= set(ConnexionMiddleware.default_middlewares)
    stack = [getattr(m, "func", m) for m in create_app(settings).middleware.middlewares]
    assert LenientRoutingMiddleware in stack and DocsOnlySwaggerUIMiddleware in stack
    assert RoutingMiddleware not in stack and SwaggerUIMiddleware not in stack


def test_swagger_ui_is_asked_only_for_its_own_paths(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []
    original = SwaggerUIMiddleware.__call__

    async def spy(self: Any, scope: Any, receive: Any, send: Any) -> None:
        asked.append(scope["path"])
        await original(self, scope, receive, send)

    monkeypatch.setattr(SwaggerUIMiddleware, "__call__", spy)
    task = create_task(client)
    assert client.get(f"/api/alice/tasks/{task['id']}", headers=auth()).status_code == 200
    assert client.get("/api/ui/").status_code == 200  # Swagger UI itself, through SwaggerUIMiddleware
    assert client.get("/api/ui/swagger-ui.css").status_code == 200
    assert asked == ["/api/ui/", "/api/ui/swagger-ui.css"]
