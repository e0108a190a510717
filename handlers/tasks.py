"""The task endpoints. Connexion has already checked the token, the path's user and the input
against openapi.yaml; these functions add what a schema cannot say and talk to the database."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

from starlette.responses import Response

from handlers import idempotency, list_cursors, list_query, single_statement
from handlers.auth.verifier import Claims
from handlers.core.context import current
from handlers.core.problems import NotFound
from handlers.core.urls import task_url, tasks_url
from handlers.inputs import claim_text, task_fields
from handlers.preconditions import etag, is_current, refuse_write, write_versions
from handlers.responses import empty_response, json_response
from handlers.task_writes import TagInput, ensure_next_occurrence, present, present_one, resolve_tags, take_tag_input
from models import keyset, listing, queries, task_tags, users
from models.clock import utc_now
from models.db import transaction
from models.queries import Versions

log = logging.getLogger(__name__)


def list_tasks(user_id: str, **query: Any) -> Response:
    wanted = list_query.read(query)
    position, now = list_cursors.decode(user_id, wanted), utc_now()
    filters, keys, limit = wanted.filters, wanted.sort_keys, wanted.limit
    with current().engine.connect() as conn:
        if wanted.by_offset:
            rows, total = listing.list_tasks(conn, user_id, filters, keys, limit, wanted.offset, now)
        else:  # by cursor: the first page too, so that its `next` link is a cursor
            rows, total, more = keyset.list_after(conn, user_id, filters, keys, limit, position, now)
        if total is None:
            total = listing.count_tasks(conn, user_id, filters, now)
        page = present(conn, rows)
    headers = {"X-Total-Count": str(total)}
    if wanted.by_offset:
        link = page_links(tasks_url(user_id), wanted.link_params, wanted.offset, limit, total)
    else:
        link = list_cursors.next_link(tasks_url(user_id), user_id, wanted, rows[-1]) if more else None
    if link:
        headers["Link"] = link
    return json_response(page, headers=headers)


def page_links(path: str, params: dict[str, Any], offset: int, limit: int, total: int) -> str | None:
    """RFC 8288 `next`/`prev` links that keep the request's other parameters."""

    def link(at: int, rel: str) -> str:
        return f'<{path}?{urlencode({**params, "limit": limit, "offset": at}, doseq=True)}>; rel="{rel}"'

    links = [link(offset + limit, "next")] if offset + limit < total else []
    links += [link(max(0, offset - limit), "prev")] if offset > 0 else []
    return ", ".join(links) or None


def create_task(user_id: str, body: dict[str, Any], token_info: Claims) -> Response:
    fields = task_fields(body)
    tag_input = take_tag_input(fields)
    claims = (claim_text(token_info, "email", 320), claim_text(token_info, "name"))
    if task := single_statement.create(user_id, fields, tag_input, claims):
        return created(user_id, task)
    with transaction(current().engine) as conn:
        if replay := idempotency.claim(conn, user_id, body):
            return replay
        # A brand-new Better Auth user has no row yet; the task's foreign key needs one. The upsert also
        # locks the user's row, so two creates with one client_id cannot both miss the existing task.
        users.upsert_user(conn, user_id, *claims)
        if fields.get("client_id") and (known := queries.get_by_client_id(conn, user_id, fields["client_id"])):
            response = task_response(present_one(conn, known), 200, {"Location": task_url(user_id, known["id"])})
            idempotency.remember(conn, response)
            return response
        tag_ids = resolve_tags(conn, user_id, tag_input) if tag_input else []
        task = queries.insert_task(conn, user_id, fields)
        if tag_ids:
            task_tags.attach(conn, user_id, task["id"], tag_ids)
            del task["tags"]  # read again below
        response = created(user_id, present_one(conn, ensure_next_occurrence(conn, user_id, task)))
        idempotency.remember(conn, response)
    current().known_users.add(user_id, claims)  # committed: its row is written
    return response


def created(user_id: str, task: dict[str, Any]) -> Response:
    log.info("task created", extra={"user_id": user_id, "task_id": task["id"]})
    return task_response(task, 201, {"Location": task_url(user_id, task["id"])})


def get_task(user_id: str, id_: int) -> Response:
    with current().engine.connect() as conn:
        task = found(queries.get_task(conn, user_id, id_), id_)
        if is_current(task["version"]):
            return empty_response(304, {"ETag": etag(task["version"])})
        return task_response(present_one(conn, task))


def update_task(user_id: str, id_: int, body: dict[str, Any]) -> Response:
    """PUT and PATCH (a JSON merge patch means the same here): the fields sent change."""
    fields, versions = task_fields(body), write_versions()
    tag_input = take_tag_input(fields)
    task = None if tag_input else single_statement.update(user_id, id_, fields, versions)
    task = task or update_in_transaction(user_id, id_, fields, versions, tag_input)
    changed = ",".join(sorted({*fields, *([tag_input[0]] if tag_input else [])}))
    log.info("task updated", extra={"user_id": user_id, "task_id": id_, "fields": changed})
    return task_response(task)


def update_in_transaction(
    user_id: str, id_: int, fields: dict[str, Any], versions: Versions, tag_input: TagInput | None
) -> dict[str, Any]:
    with transaction(current().engine) as conn:
        # 404 first: no tag made for nothing. The row's tags come with it unless the body changes them.
        task = queries.update_task(conn, user_id, id_, fields, versions, with_tags=tag_input is None)
        if task is None:
            refuse_write(versions, lambda: queries.get_task(conn, user_id, id_), f"Task {id_}")
        if tag_input:
            task_tags.replace(conn, user_id, id_, resolve_tags(conn, user_id, tag_input))
        return present_one(conn, ensure_next_occurrence(conn, user_id, task))


patch_task = update_task


def complete_task(user_id: str, id_: int, body: dict[str, Any] | None = None) -> Response:
    completed, versions = (body or {}).get("completed"), write_versions()
    if task := single_statement.complete(user_id, id_, completed, versions):
        response = task_response(task)
    else:
        with transaction(current().engine) as conn:
            if replay := idempotency.claim(conn, user_id, body):
                return replay
            task = queries.set_completed(conn, user_id, id_, completed, versions)
            if task is None:
                refuse_write(versions, lambda: queries.get_task(conn, user_id, id_), f"Task {id_}")
            response = task_response(present_one(conn, ensure_next_occurrence(conn, user_id, task)))
            idempotency.remember(conn, response)
    action = "toggled" if completed is None else "set"
    log.info("task completion %s", action, extra={"user_id": user_id, "task_id": id_, "completed": task["completed"]})
    return response


def delete_task(user_id: str, id_: int) -> Response:
    versions = write_versions()
    with current().engine.connect() as conn:
        if not queries.delete_task(conn, user_id, id_, versions):
            refuse_write(versions, lambda: queries.get_task(conn, user_id, id_), f"Task {id_}")
    log.info("task deleted", extra={"user_id": user_id, "task_id": id_})
    return empty_response(204)


def task_response(task: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return json_response(task, status, {**(headers or {}), "ETag": etag(task["version"])})


def found(task: dict[str, Any] | None, task_id: int) -> dict[str, Any]:
    """The task, or 404: also for another user's task, whose existence is never revealed."""
    if task is None:
        raise NotFound(f"Task {task_id} not found")
    return task
