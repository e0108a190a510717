"""A user's task. Request and response shapes live in openapi.yaml (the contract); this is the table."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Identity,
    Index,
    Integer,
    SmallInteger,
    String,
)
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime

# In rank order: `sort=priority` follows it, by `priority_rank` (stored, so that an index can serve it).
PRIORITIES = ("none", "low", "medium", "high", "urgent")
PRIORITY_RANK = {name: rank for rank, name in enumerate(PRIORITIES)}

# SQLite only auto-increments an INTEGER PRIMARY KEY (which is 64-bit there anyway).
BigId = BigInteger().with_variant(Integer(), "sqlite")


class TaskBase(SQLModel):
    title: str = Field(sa_column=Column(String(200), nullable=False))
    description: str | None = Field(default=None, sa_column=Column(String(2000), nullable=True))
    completed: bool = Field(default=False, sa_column=Column(Boolean(), nullable=False))
    priority: str = Field(default="medium", sa_column=Column(String(6), nullable=False))
    due_date: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    category: str | None = Field(default=None, sa_column=Column(String(50), nullable=True))
    # Normalised (models/recurrence.py): a shorthand (`daily` …) or an RRULE without the `RRULE:` prefix.
    recurrence_rule: str | None = Field(default=None, sa_column=Column(String(500), nullable=True))
    reminder_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class Task(TaskBase, table=True):
    __tablename__ = "tasks"
    __table_args__ = (
        CheckConstraint("priority IN ('none', 'low', 'medium', 'high', 'urgent')", name="ck_tasks_priority"),
        # Serves the default list (newest first) and its tie-break: WHERE user_id = ? ORDER BY
        # created_at DESC, id DESC LIMIT n is a backward scan of this index, no sort.
        Index("ix_tasks_user_created", "user_id", "created_at", "id"),
        # Serves `status=…&sort=due_date`: WHERE user_id = ? AND completed = ? ORDER BY due_date ASC
        # NULLS LAST, id is a forward scan of this index, no sort of every pending task.
        Index("ix_tasks_user_completed_due", "user_id", "completed", "due_date", "id"),
        # Cursor pages of the other sort keys (migration 0005): `(key, id) > (?, ?)` bounds an index range.
        # On PostgreSQL the title index is on `title_key COLLATE "C"`, the order `sort=title` uses.
        Index("ix_tasks_user_updated", "user_id", "updated_at", "id"),
        Index("ix_tasks_user_title", "user_id", "title_key", "id"),
        Index("ix_tasks_user_priority", "user_id", "priority_rank", "id"),
        Index("ix_tasks_user_due", "user_id", "due_date", "id"),
        # `category=` (case-insensitive exact), newest first.
        Index("ix_tasks_user_category", "user_id", "category_key", "created_at", "id"),
        # `reminder_before=`: pending tasks whose reminder is due, what a frontend polls.
        Index("ix_tasks_user_completed_reminder", "user_id", "completed", "reminder_at"),
        # The change feed: the user's tasks changed after a cursor, in change order.
        Index("ix_tasks_user_change", "user_id", "change_seq"),
        # A client's own id for a task it created offline: one task per (user, client_id), ever.
        Index("uq_tasks_user_client", "user_id", "client_id", unique=True),
        # Without AUTOINCREMENT SQLite reuses the id of the newest deleted task, so a retried DELETE
        # or PUT from a stale tab could hit a newer task.
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, sa_column=Column(BigId, Identity(), primary_key=True))
    user_id: str = Field(sa_column=Column(String(255), ForeignKey("users.id", ondelete="CASCADE"), nullable=False))
    # casefold(title), so that `sort=title` is case-insensitive for every script and orders the same
    # on SQLite and PostgreSQL (both compare it bytewise; PostgreSQL's lower() depends on the locale).
    title_key: str = Field(sa_column=Column(String(), nullable=False))
    priority_rank: int = Field(default=2, sa_column=Column(SmallInteger(), nullable=False, server_default="2"))
    category_key: str | None = Field(default=None, sa_column=Column(String(), nullable=True))  # casefold(category)
    # The first occurrence of a recurring task's series: COUNT and UNTIL are counted from it.
    series_start: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    # The task created when this recurring task was completed; set once, never cleared (exactly one
    # next occurrence per task, ever). No foreign key: it must survive the next occurrence's deletion.
    next_occurrence_id: int | None = Field(default=None, sa_column=Column(BigInteger(), nullable=True))
    completed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    client_id: str | None = Field(default=None, sa_column=Column(String(36), nullable=True))
    # 1 at creation, +1 in every write statement: the ETag, and If-Match's compare-and-set.
    version: int = Field(default=1, sa_column=Column(BigInteger(), nullable=False, server_default="1"))
    # The row's place in its user's change feed, assigned by triggers in the writing transaction
    # (migration 0004); never set by the application.
    change_seq: int = Field(default=0, sa_column=Column(BigInteger(), nullable=False, server_default="0"))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
