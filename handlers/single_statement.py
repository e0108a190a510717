"""Writes that are one statement, run as that statement alone: no BEGIN and COMMIT around it.

A transaction costs PostgreSQL two round trips of its own. A create was BEGIN, the user's upsert, the
INSERT and COMMIT; once this app has written the user's row with the token's claims, the INSERT alone
does the same. A PUT, PATCH or completion of a task without a recurrence rule is its UPDATE alone (a
recurring task's completion also creates the next occurrence, in one transaction). Anything more —
tags, a client_id, an Idempotency-Key, a rule, or a statement that matched nothing (404, 412, a
recurring task) — takes the handler's transaction, which decides exactly as before.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError

from handlers.core.context import current
from handlers.core.known_users import Claims
from handlers.preconditions import header
from handlers.task_writes import TagInput, present_one
from models import queries
from models.queries import Row, Versions


def idempotent_retry() -> bool:
    return header(b"idempotency-key") is not None


def create(user_id: str, fields: dict[str, Any], tag_input: TagInput | None, claims: Claims) -> Row | None:
    """The new task as the API's Task, or None when the create needs the transaction."""
    known = current().known_users
    if tag_input or fields.get("client_id") or fields.get("recurrence_rule") or idempotent_retry():
        return None
    if not known.knows(user_id, claims):
        return None
    try:
        with current().engine.connect() as conn:
            return present_one(conn, queries.insert_task(conn, user_id, fields))
    except IntegrityError:  # the user's row is gone after all (a database reset): the transaction makes it
        known.forget(user_id)
        return None


def update(user_id: str, task_id: int, fields: dict[str, Any], versions: Versions) -> Row | None:
    """The updated task as the API's Task, or None when the update needs the transaction."""
    if "recurrence_rule" in fields:
        return None
    with current().engine.connect() as conn:
        task = queries.update_task(conn, user_id, task_id, fields, versions, with_tags=True, unless_recurring=True)
        return present_one(conn, task) if task else None


def complete(user_id: str, task_id: int, completed: bool | None, versions: Versions) -> Row | None:
    if idempotent_retry():
        return None
    with current().engine.connect() as conn:
        task = queries.set_completed(conn, user_id, task_id, completed, versions, unless_recurring=True)
        return present_one(conn, task) if task else None
