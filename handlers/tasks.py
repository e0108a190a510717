"""The task endpoints. Connexion has already checked the token, the path's user and the input
against openapi.yaml; these functions add what a schema cannot say and talk to the database."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

from starlette.responses import Response

from handlers.auth.verifier import Claims
from handlers.core.context import current
from handlers.core.problems import NotFound
from handlers.core.urls import task_url, tasks_url
from handlers.inputs import claim_text, task_fields
from handlers.responses import empty_response, json_response
from models import listing, queries
from models.db import transaction

log = logging.getLogger(__name__)


def list_tasks(
    user_id: str,
    status: str = "all",
    priority: str | None = None,
    q: str | None = None,
    sort: str = "-created",
    limit: int = 100,
    offset: int = 0,
) -> Response:
    keys = list(dict.fromkeys(sort.split(",")))  # a repeated key adds nothing
    with current().engine.connect() as conn:
        rows = listing.list_tasks(conn, user_id, status, priority, q, keys, limit, offset)
        # A short, non-empty (or first) page tells the total without a COUNT over all matches.
        short_page = len(rows) < limit and (rows or offset == 0)
        total = offset + len(rows) if short_page else listing.count_tasks(conn, user_id, status, priority, q)
    headers = {"X-Total-Count": str(total)}
    params = {"status": status, "priority": priority, "q": q, "sort": sort, "limit": limit}
    if link := page_links(tasks_url(user_id), params, offset, limit, total):
        headers["Link"] = link
    return json_response(rows, headers=headers)


def page_links(path: str, params: dict[str, Any], offset: int, limit: int, total: int) -> str | None:
    """RFC 8288 `next`/`prev` links that keep the request's other parameters."""
    kept = {k: v for k, v in params.items() if v is not None}
    links = []
    if offset + limit < total:
        links.append(f'<{path}?{urlencode({**kept, "offset": offset + limit})}>; rel="next"')
    if offset > 0:
        links.append(f'<{path}?{urlencode({**kept, "offset": max(0, offset - limit)})}>; rel="prev"')
    return ", ".join(links) or None


def create_task(user_id: str, body: dict[str, Any], token_info: Claims) -> Response:
    fields = task_fields(body)
    with transaction(current().engine) as conn:
        # A brand-new Better Auth user has no row yet; the task's foreign key needs one.
        queries.upsert_user(conn, user_id, claim_text(token_info, "email", 320), claim_text(token_info, "name"))
        task = queries.insert_task(conn, user_id, fields)
    log.info("task created", extra={"user_id": user_id, "task_id": task["id"]})
    return json_response(task, 201, {"Location": task_url(user_id, task["id"])})


def get_task(user_id: str, id_: int) -> Response:
    with current().engine.connect() as conn:
        task = queries.get_task(conn, user_id, id_)
    return json_response(found(task, id_))


def update_task(user_id: str, id_: int, body: dict[str, Any]) -> Response:
    fields = task_fields(body)
    with current().engine.connect() as conn:
        task = found(queries.update_task(conn, user_id, id_, fields), id_)
    log.info("task updated", extra={"user_id": user_id, "task_id": id_, "fields": ",".join(sorted(fields))})
    return json_response(task)


def complete_task(user_id: str, id_: int, body: dict[str, Any] | None = None) -> Response:
    completed = body["completed"] if body else None
    with current().engine.connect() as conn:
        task = found(queries.set_completed(conn, user_id, id_, completed), id_)
    action = "toggled" if completed is None else "set"
    log.info("task completion %s", action, extra={"user_id": user_id, "task_id": id_, "completed": task["completed"]})
    return json_response(task)


def delete_task(user_id: str, id_: int) -> Response:
    with current().engine.connect() as conn:
        deleted = queries.delete_task(conn, user_id, id_)
    if not deleted:
        raise NotFound(f"Task {id_} not found")
    log.info("task deleted", extra={"user_id": user_id, "task_id": id_})
    return empty_response(204)


def found(task: dict[str, Any] | None, task_id: int) -> dict[str, Any]:
    """The task, or 404: also for another user's task, whose existence is never revealed."""
    if task is None:
        raise NotFound(f"Task {task_id} not found")
    return task
