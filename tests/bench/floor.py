"""The framework's floor for `make bench`: an endpoint that does no work, on the task API's stack.

A separate app with its own one-path spec, so the floor never becomes part of the public API. It keeps
what every task request pays for whatever it does (uvicorn, Connexion's middleware stack, routing, a
sync handler's hop to the thread pool, a Response, the API's prebuilt operations) and leaves out what
is the API's own work (token, database, JSON of rows), so an operation's fraction of the floor's
throughput is how much of the framework's capacity its own work leaves.
"""

from __future__ import annotations

from pathlib import Path

from connexion import AsyncApp
from starlette.responses import Response

from handlers.runtime.handler_slots import HandlerSlots
from handlers.runtime.operations import use_prebuilt_operations


def nothing() -> Response:
    return Response(b"{}", media_type="application/json")


def create_app() -> AsyncApp:
    app = AsyncApp(__name__)
    use_prebuilt_operations(app, HandlerSlots(10, 5.0))  # as the task API does (its default pool), the same stack
    app.add_api(Path(__file__).with_name("floor.yaml"), base_path="/api")
    return app
