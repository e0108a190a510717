"""Where the API lives: its base path and the URLs it hands out (`Location`, `Link`)."""

from __future__ import annotations

from urllib.parse import quote

BASE_PATH = "/api"
# Swagger UI and the spec: the same for everyone (cacheable), unlike every other response.
DOCS_PATHS = (f"{BASE_PATH}/ui", f"{BASE_PATH}/openapi.json", f"{BASE_PATH}/openapi.yaml")  # and all of /api/ui/
DOCS_PREFIX = f"{BASE_PATH}/ui/"
SWAGGER_UI_PATH = DOCS_PREFIX
HEALTH_PATH = f"{BASE_PATH}/health"


def tasks_url(user_id: str) -> str:
    """`/api/{user_id}/tasks`, the user id quoted as one path segment."""
    return f"{BASE_PATH}/{quote(user_id, safe='')}/tasks"


def task_url(user_id: str, task_id: int) -> str:
    return f"{tasks_url(user_id)}/{task_id}"


def tag_url(user_id: str, tag_id: int) -> str:
    return f"{BASE_PATH}/{quote(user_id, safe='')}/tags/{tag_id}"
