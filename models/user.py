"""A user, as known from the claims of their tokens (Better Auth owns the real account)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Integer, String
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: str = Field(sa_column=Column(String(255), primary_key=True))
    email: str | None = Field(default=None, sa_column=Column(String(320), nullable=True))
    name: str | None = Field(default=None, sa_column=Column(String(255), nullable=True))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    # How many tasks the user has, and how many of them are completed: kept by triggers on `tasks`
    # (migration 0002) so that a list's X-Total-Count needs no COUNT over all of a user's tasks.
    task_count: int = Field(default=0, sa_column=Column(Integer(), nullable=False, server_default="0"))
    completed_count: int = Field(default=0, sa_column=Column(Integer(), nullable=False, server_default="0"))
    # SQLite's per-user change counter (PostgreSQL draws from the `change_seq` sequence instead), and the
    # highest change number whose tombstones were purged: a feed cursor below it is a 410.
    change_seq: int = Field(default=0, sa_column=Column(BigInteger(), nullable=False, server_default="0"))
    purged_seq: int = Field(default=0, sa_column=Column(BigInteger(), nullable=False, server_default="0"))
