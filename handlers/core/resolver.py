"""operationId → handler, in one hop: the operation's first tag names the module under `handlers/`, its
operationId in snake_case names the function (`listTasks` tagged `tasks` → `handlers/tasks.py:list_tasks`).

The spec keeps camelCase operationIds because every client generator turns them into names
(`listTasks()`, `ListTasksData`); Python paths there became `handlersTasksListTasks`.
"""

from __future__ import annotations

import re
from typing import Any

from connexion.resolver import Resolution, Resolver

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


def snake_case(operation_id: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", operation_id).lower()


def handler_path(operation_id: str, tag: str) -> str:
    return f"handlers.{tag.replace('-', '_')}.{snake_case(operation_id)}"


class TaggedResolver(Resolver):
    """Resolves each operation by its spec's first tag and operationId; the operation keeps the spec's
    operationId (what logs, metrics and routing see)."""

    def __init__(self, spec: dict[str, Any]) -> None:
        super().__init__()
        self._paths = {
            op["operationId"]: handler_path(op["operationId"], op["tags"][0])
            for item in spec["paths"].values()
            for method, op in item.items()
            if method in METHODS
        }

    def resolve(self, operation: Any) -> Resolution:
        operation_id: str = operation.operation_id
        return Resolution(self.resolve_function_from_operation_id(self._paths[operation_id]), operation_id)
