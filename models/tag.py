"""A user's tags, and which tasks carry them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, ForeignKey, Identity, Index, Integer, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.task import BigId
from models.types import UTCDateTime

MAX_TAGS_PER_USER = 500
MAX_TAGS_PER_TASK = 20


class Tag(SQLModel, table=True):
    __tablename__ = "tags"
    __table_args__ = (
        # Names are unique per user, case-insensitively ("Work" and "work" are one tag).
        UniqueConstraint("user_id", "name_key", name="uq_tags_user_name"),
        Index("ix_tags_user_change", "user_id", "change_seq"),
        {"sqlite_autoincrement": True},  # a deleted tag's id is never reused
    )

    id: int | None = Field(default=None, sa_column=Column(BigId, Identity(), primary_key=True))
    user_id: str = Field(sa_column=Column(String(255), ForeignKey("users.id", ondelete="CASCADE"), nullable=False))
    name: str = Field(sa_column=Column(String(50), nullable=False))
    name_key: str = Field(sa_column=Column(String(), nullable=False))  # casefold(name): uniqueness and order
    color: str | None = Field(default=None, sa_column=Column(String(7), nullable=True))  # #RRGGBB
    version: int = Field(default=1, sa_column=Column(BigInteger(), nullable=False, server_default="1"))
    # Kept by the task_tags triggers (migration 0007), like the version.
    task_count: int = Field(default=0, sa_column=Column(Integer(), nullable=False, server_default="0"))
    change_seq: int = Field(default=0, sa_column=Column(BigInteger(), nullable=False, server_default="0"))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class TaskTag(SQLModel, table=True):
    __tablename__ = "task_tags"
    __table_args__ = (
        # The primary key serves "the tags of these tasks"; this one serves "the tasks with this tag"
        # (the `tag=` and `tag_ids=` filters, a tag's task count, a rename's touched tasks).
        Index("ix_task_tags_tag_task", "tag_id", "task_id"),
    )

    task_id: int = Field(sa_column=Column(BigId, ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True))
    tag_id: int = Field(sa_column=Column(BigId, ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True))
