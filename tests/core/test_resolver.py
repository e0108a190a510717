"""operationIds are camelCase names for client generators, and each resolves, in one hop, to the
function its first tag and name say."""

from __future__ import annotations

import importlib
import re

import pytest

from handlers.app import load_spec
from handlers.core.resolver import METHODS, handler_path, snake_case

OPERATIONS = [
    (op["operationId"], op["tags"][0])
    for item in load_spec()["paths"].values()
    for method, op in item.items()
    if method in METHODS
]


@pytest.mark.parametrize(("operation_id", "tag"), OPERATIONS)
def test_each_operation_id_is_camel_case_and_names_its_handler(operation_id: str, tag: str) -> None:
    assert re.fullmatch(r"[a-z]+(?:[A-Z][a-z0-9]*)*", operation_id)
    module, _, function = handler_path(operation_id, tag).rpartition(".")
    assert callable(getattr(importlib.import_module(module), function))


def test_snake_case() -> None:
    assert [snake_case(x) for x in ("listTasks", "getHealth", "addTaskTags")] == [
        "list_tasks", "get_health", "add_task_tags",
    ]  # fmt: skip
