"""The tag endpoints. A tag is one user's; another user's tag id is a 404, exactly like a missing one."""

from __future__ import annotations

import logging
from typing import Any

from starlette.responses import Response

from handlers import idempotency
from handlers.auth.verifier import Claims
from handlers.core.context import current
from handlers.core.problems import Conflict, NotFound
from handlers.core.urls import tag_url
from handlers.inputs import claim_text, not_blank
from handlers.preconditions import etag, is_current, refuse_write, write_versions
from handlers.responses import empty_response, json_response
from models import tags, task_tags, users
from models.db import transaction
from models.tag import MAX_TAGS_PER_USER

log = logging.getLogger(__name__)


def list_tags(user_id: str) -> Response:
    with current().engine.connect() as conn:
        return json_response(tags.list_tags(conn, user_id))


def create_tag(user_id: str, body: dict[str, Any], token_info: Claims) -> Response:
    name = not_blank(body["name"], "name")
    with transaction(current().engine) as conn:
        if replay := idempotency.claim(conn, user_id, body):
            return replay
        users.upsert_user(conn, user_id, claim_text(token_info, "email", 320), claim_text(token_info, "name"))
        if tags.count_tags(conn, user_id) >= MAX_TAGS_PER_USER:
            raise Conflict(f"A user has at most {MAX_TAGS_PER_USER} tags; delete some first")
        tag_id = tags.insert_tag(conn, user_id, name, body.get("color"))
        if tag_id is None:
            raise Conflict(f"A tag named {name!r} exists already")
        tag = found(tags.get_tag(conn, user_id, tag_id), tag_id)
        response = tag_response(tag, 201, {"Location": tag_url(user_id, tag_id)})
        idempotency.remember(conn, response)
    log.info("tag created", extra={"user_id": user_id, "tag_id": tag_id})
    return response


def get_tag(user_id: str, tag_id: int) -> Response:
    with current().engine.connect() as conn:
        tag = found(tags.get_tag(conn, user_id, tag_id), tag_id)
    if is_current(tag["version"]):
        return empty_response(304, {"ETag": etag(tag["version"])})
    return tag_response(tag)


def update_tag(user_id: str, tag_id: int, body: dict[str, Any]) -> Response:
    """PUT and PATCH: the fields sent change; a rename shows on every task carrying the tag at once."""
    fields = {**body, **({"name": not_blank(body["name"], "name")} if "name" in body else {})}
    versions = write_versions()
    with transaction(current().engine) as conn:
        task_tags.lock_for_tag_write(conn, user_id, tag_id)  # first: see models/task_tags.py
        try:
            if not tags.update_tag(conn, user_id, tag_id, fields, versions):
                refuse_write(versions, lambda: tags.get_tag(conn, user_id, tag_id), f"Tag {tag_id}")
        except tags.DuplicateName:
            raise Conflict(f"A tag named {fields['name']!r} exists already") from None
        task_tags.touch_tasks_of_tag(conn, tag_id)  # only the owner's tasks can carry the owner's tag
        tag = found(tags.get_tag(conn, user_id, tag_id), tag_id)
    log.info("tag updated", extra={"user_id": user_id, "tag_id": tag_id, "fields": ",".join(sorted(fields))})
    return tag_response(tag)


patch_tag = update_tag


def delete_tag(user_id: str, tag_id: int) -> Response:
    versions = write_versions()
    with transaction(current().engine) as conn:
        task_tags.lock_for_tag_write(conn, user_id, tag_id)
        task_tags.touch_tasks_of_tag(conn, tag_id)
        if not tags.delete_tag(conn, user_id, tag_id, versions):  # a refusal rolls the touch back too
            refuse_write(versions, lambda: tags.get_tag(conn, user_id, tag_id), f"Tag {tag_id}")
    log.info("tag deleted", extra={"user_id": user_id, "tag_id": tag_id})
    return empty_response(204)


def tag_response(tag: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return json_response(tag, status, {**(headers or {}), "ETag": etag(tag["version"])})


def found(tag: dict[str, Any] | None, tag_id: int) -> dict[str, Any]:
    if tag is None:
        raise NotFound(f"Tag {tag_id} not found")
    return tag
