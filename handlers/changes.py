"""The change feed: every task and tag change after a cursor, oldest first, a deleted item as a
tombstone. Without a cursor it starts from the beginning, so one loop ("fetch until `has_more` is false,
keep `next_cursor`") both bootstraps a client and keeps it in sync."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from handlers import feed_cursors
from handlers.core.context import current
from handlers.core.problems import Gone
from handlers.responses import json_response
from handlers.task_writes import present
from models import changes
from models.db import snapshot
from models.queries import Row


def list_changes(user_id: str, cursor: str | None = None, limit: int = 100) -> Response:
    key = feed_cursors.key_from(current().settings.cursor_secret_material())
    after = feed_cursors.decode(key, user_id, cursor) if cursor else 0
    with snapshot(current().engine) as conn:  # one state for every table read, or a change could be skipped
        if after and after < changes.purged_seq(conn, user_id):
            raise Gone("Deletions after this cursor are no longer kept; start again without a cursor")
        found, has_more = changes.changes_after(conn, user_id, after, limit)
        tasks = {task["id"]: task for task in present(conn, [row for kind, row in found if kind == "task"])}
    items = [change(kind, row, tasks) for kind, row in found]
    last = int(found[-1][1]["change_seq"]) if found else after
    body = {"changes": items, "next_cursor": feed_cursors.encode(key, user_id, last), "has_more": has_more}
    return json_response(body)


def change(kind: str, row: Row, tasks: dict[int, Row]) -> dict[str, Any]:
    if kind == "task":
        return {"kind": "task", "task": {k: v for k, v in tasks[row["id"]].items() if k != "change_seq"}}
    if kind == "tag":
        return {"kind": "tag", "tag": {k: v for k, v in row.items() if k != "change_seq"}}
    return {"kind": row["kind"], "id": row["item_id"], "version": row["version"], "deleted_at": row["deleted_at"]}
