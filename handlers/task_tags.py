"""The tags a task carries: add some, remove one. Both answer with the task."""

from __future__ import annotations

import logging
from typing import Any

from starlette.responses import Response

from handlers import idempotency
from handlers.core.context import current
from handlers.core.problems import NotFound
from handlers.preconditions import refuse_write, write_versions
from handlers.task_writes import check_tag_limit, owned_or_400, present_one
from handlers.tasks import task_response
from models import queries, tags, task_tags
from models.db import transaction

log = logging.getLogger(__name__)


def add_task_tags(user_id: str, id_: int, body: dict[str, Any]) -> Response:
    versions = write_versions()
    with transaction(current().engine) as conn:
        if replay := idempotency.claim(conn, user_id, body):
            return replay
        task = queries.update_task(conn, user_id, id_, {}, versions)  # a new version; locks the row
        if task is None:
            refuse_write(versions, lambda: queries.get_task(conn, user_id, id_), f"Task {id_}")
        tag_ids = owned_or_400(conn, user_id, list(dict.fromkeys(body["tag_ids"])))
        task_tags.attach(conn, user_id, id_, tag_ids)
        check_tag_limit(conn, id_)
        response = task_response(present_one(conn, task))
        idempotency.remember(conn, response)
    log.info("task tags added", extra={"user_id": user_id, "task_id": id_, "tag_ids": ",".join(map(str, tag_ids))})
    return response


def remove_task_tag(user_id: str, id_: int, tag_id: int) -> Response:
    versions = write_versions()
    with transaction(current().engine) as conn:
        task = queries.get_task(conn, user_id, id_)
        if task is None or (versions is not None and task["version"] not in versions):
            refuse_write(versions, lambda: task, f"Task {id_}")
        if tags.get_tag(conn, user_id, tag_id) is None:
            raise NotFound(f"Tag {tag_id} not found")
        if task_tags.detach(conn, id_, tag_id):
            # The compare-and-set is this write's: a concurrent change since the read above makes it a 412.
            task = queries.update_task(conn, user_id, id_, {}, versions)
            if task is None:
                refuse_write(versions, lambda: queries.get_task(conn, user_id, id_), f"Task {id_}")
            log.info("task tag removed", extra={"user_id": user_id, "task_id": id_, "tag_id": tag_id})
        return task_response(present_one(conn, task))
