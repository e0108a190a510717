"""The tags a task carries: add some, remove one. Both answer with the task."""

from __future__ import annotations

import logging
from typing import Any

from starlette.responses import Response

from handlers.core.context import current
from handlers.core.problems import NotFound
from handlers.responses import json_response
from handlers.task_writes import check_tag_limit, owned_or_400, present_one
from handlers.tasks import found
from models import queries, tags, task_tags
from models.db import transaction

log = logging.getLogger(__name__)


def add_task_tags(user_id: str, id_: int, body: dict[str, Any]) -> Response:
    with transaction(current().engine) as conn:
        task = found(queries.update_task(conn, user_id, id_, {}), id_)  # moves updated_at, locks the row
        tag_ids = owned_or_400(conn, user_id, list(dict.fromkeys(body["tag_ids"])))
        task_tags.attach(conn, user_id, id_, tag_ids)
        check_tag_limit(conn, id_)
        task = present_one(conn, task)
    log.info("task tags added", extra={"user_id": user_id, "task_id": id_, "tag_ids": ",".join(map(str, tag_ids))})
    return json_response(task)


def remove_task_tag(user_id: str, id_: int, tag_id: int) -> Response:
    with transaction(current().engine) as conn:
        task = found(queries.get_task(conn, user_id, id_), id_)
        if tags.get_tag(conn, user_id, tag_id) is None:
            raise NotFound(f"Tag {tag_id} not found")
        if task_tags.detach(conn, id_, tag_id):
            task = found(queries.update_task(conn, user_id, id_, {}), id_)
            log.info("task tag removed", extra={"user_id": user_id, "task_id": id_, "tag_id": tag_id})
        return json_response(present_one(conn, task))
