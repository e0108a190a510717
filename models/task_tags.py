"""Which tasks carry which tags: the task_tags table's statements."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Integer, bindparam, delete, func, select, true, update
from sqlalchemy.dialects import postgresql, sqlite

from models.queries import Row, next_version, tasks
from models.tags import IDS, tags, task_tags
from models.users import users

TAGS_OF_TASKS = (
    select(task_tags.c.task_id, tags.c.id, tags.c.name, tags.c.color, tags.c.name_key)
    .join(tags, tags.c.id == task_tags.c.tag_id)
    .where(task_tags.c.task_id.in_(IDS))
)
COUNT_TASK_TAGS = select(func.count()).select_from(task_tags).where(task_tags.c.task_id == bindparam("task_id"))
DETACH = delete(task_tags).where(task_tags.c.task_id == bindparam("task_id"), task_tags.c.tag_id == bindparam("tag_id"))
KEEP_ONLY = delete(task_tags).where(task_tags.c.task_id == bindparam("task_id"), task_tags.c.tag_id.not_in(IDS))
DETACH_ALL = delete(task_tags).where(task_tags.c.task_id == bindparam("task_id"), true())
TASKS_OF_TAG = select(task_tags.c.task_id).where(task_tags.c.tag_id == bindparam("tag_id"))
# A write to a task locks its row, then (its change_seq trigger) the user's row, then (task_tags'
# trigger) the rows of tags it takes or drops. A tag write that renames or deletes a tag used by many
# tasks takes the same locks in the same order: its tasks (by id), the user's row, then the tag's row;
# in any other order the two could deadlock. (SQLite has one writer: FOR UPDATE is left out there.)
LOCK_TASKS_OF_TAG = select(tasks.c.id).where(tasks.c.id.in_(TASKS_OF_TAG)).order_by(tasks.c.id).with_for_update()
LOCK_USER = select(users.c.id).where(users.c.id == bindparam("owner_id")).with_for_update(key_share=True)
TOUCH_TASKS_OF_TAG = update(tasks).where(tasks.c.id.in_(TASKS_OF_TAG)).values(**next_version())


def _attach_statement(dialect: Any) -> Any:
    """INSERT … SELECT of the user's tags among the ids: another user's id inserts nothing; one the task
    has already is skipped (a retried add changes nothing)."""
    owned = select(bindparam("task_id", type_=Integer()), tags.c.id).where(
        tags.c.user_id == bindparam("owner_id"), tags.c.id.in_(IDS)
    )
    return dialect.insert(task_tags).from_select(["task_id", "tag_id"], owned).on_conflict_do_nothing()


ATTACH = {"postgresql": _attach_statement(postgresql), "sqlite": _attach_statement(sqlite)}


def tags_of_tasks(conn: Connection, task_ids: Sequence[int]) -> dict[int, list[Row]]:
    """Each task's tag summaries `{id, name, color}`, ordered by name: one query for a whole page."""
    found: dict[int, list[tuple[str, int, Row]]] = {task_id: [] for task_id in task_ids}
    if task_ids:
        for task_id, tag_id, name, color, key in conn.execute(TAGS_OF_TASKS, {"ids": list(task_ids)}):
            found[task_id].append((key, tag_id, {"id": tag_id, "name": name, "color": color}))
    return {task_id: [tag for *_, tag in sorted(entries)] for task_id, entries in found.items()}


def attach(conn: Connection, user_id: str, task_id: int, tag_ids: Iterable[int]) -> None:
    conn.execute(ATTACH[conn.dialect.name], {"task_id": task_id, "owner_id": user_id, "ids": list(tag_ids)})


def replace(conn: Connection, user_id: str, task_id: int, tag_ids: Sequence[int]) -> None:
    """Make the task's tags exactly `tag_ids` (the user's, checked before)."""
    if tag_ids:
        conn.execute(KEEP_ONLY, {"task_id": task_id, "ids": list(tag_ids)})
        attach(conn, user_id, task_id, tag_ids)
    else:
        conn.execute(DETACH_ALL, {"task_id": task_id})


def detach(conn: Connection, task_id: int, tag_id: int) -> bool:
    return conn.execute(DETACH, {"task_id": task_id, "tag_id": tag_id}).rowcount == 1


def count_task_tags(conn: Connection, task_id: int) -> int:
    return int(conn.execute(COUNT_TASK_TAGS, {"task_id": task_id}).scalar_one())


def lock_for_tag_write(conn: Connection, user_id: str, tag_id: int) -> None:
    conn.execute(LOCK_TASKS_OF_TAG, {"tag_id": tag_id})
    conn.execute(LOCK_USER, {"owner_id": user_id})


def touch_tasks_of_tag(conn: Connection, tag_id: int) -> None:
    """Move `version` and `updated_at` of every task carrying the tag: its representation changes."""
    conn.execute(TOUCH_TASKS_OF_TAG, {"tag_id": tag_id})
