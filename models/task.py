"""A user's task. Request and response shapes live in openapi.yaml (the contract); this is the table."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Column, ForeignKey, Identity, Index, Integer, String
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime

PRIORITIES = ("low", "medium", "high")

# SQLite only auto-increments an INTEGER PRIMARY KEY (which is 64-bit there anyway).
BigId = BigInteger().with_variant(Integer(), "sqlite")


class TaskBase(SQLModel):
    title: str = Field(sa_column=Column(String(200), nullable=False))
    description: str | None = Field(default=None, sa_column=Column(String(2000), nullable=True))
    completed: bool = Field(default=False, sa_column=Column(Boolean(), nullable=False))
    priority: str = Field(default="medium", sa_column=Column(String(6), nullable=False))
    due_date: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class Task(TaskBase, table=True):
    __tablename__ = "tasks"
    __table_args__ = (
        CheckConstraint("priority IN ('low', 'medium', 'high')", name="ck_tasks_priority"),
        # Serves the default list (newest first) and its tie-break: WHERE user_id = ? ORDER BY
        # created_at DESC, id DESC LIMIT n is a backward scan of this index, no sort.
        Index("ix_tasks_user_created", "user_id", "created_at", "id"),
        # Serves `status=…&sort=due_date`: WHERE user_id = ? AND completed = ? ORDER BY due_date ASC
        # NULLS LAST, id is a forward scan of this index, no sort of every pending task.
        Index("ix_tasks_user_completed_due", "user_id", "completed", "due_date", "id"),
        # Without AUTOINCREMENT SQLite reuses the id of the newest deleted task, so a retried DELETE
        # or PUT from a stale tab could hit a newer task.
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, sa_column=Column(BigId, Identity(), primary_key=True))
    user_id: str = Field(sa_column=Column(String(255), ForeignKey("users.id", ondelete="CASCADE"), nullable=False))
    # casefold(title), so that `sort=title` is case-insensitive for every script and orders the same
    # on SQLite and PostgreSQL (both compare it bytewise; PostgreSQL's lower() depends on the locale).
    title_key: str = Field(sa_column=Column(String(), nullable=False))
    completed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
