"""What keeps clients in sync: tombstones of deleted tasks and tags (for the change feed) and the stored
outcomes of requests sent with an Idempotency-Key."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, ForeignKey, Identity, Index, Integer, LargeBinary, String, Text
from sqlmodel import Field, SQLModel

from models.task import BigId
from models.types import UTCDateTime


class Tombstone(SQLModel, table=True):
    """Written by triggers when a task or tag is deleted (migration 0004); purged after TOMBSTONE_DAYS."""

    __tablename__ = "tombstones"
    __table_args__ = (
        Index("ix_tombstones_user_change", "user_id", "change_seq"),
        Index("ix_tombstones_deleted_at", "deleted_at"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigId, Identity(), primary_key=True))
    user_id: str = Field(sa_column=Column(String(255), ForeignKey("users.id", ondelete="CASCADE"), nullable=False))
    kind: str = Field(sa_column=Column(String(16), nullable=False))  # task_deleted | tag_deleted
    item_id: int = Field(sa_column=Column(BigInteger(), nullable=False))
    version: int = Field(sa_column=Column(BigInteger(), nullable=False))
    deleted_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    change_seq: int = Field(sa_column=Column(BigInteger(), nullable=False))


class IdempotencyKey(SQLModel, table=True):
    """One (user, key): the request's fingerprint, then its stored response once it has committed."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (Index("ix_idempotency_keys_expires_at", "expires_at"),)

    user_id: str = Field(sa_column=Column(String(255), primary_key=True))  # no FK: claimed before the upsert
    key: str = Field(sa_column=Column(String(255), primary_key=True))
    fingerprint: str = Field(sa_column=Column(String(64), nullable=False))
    status: int | None = Field(default=None, sa_column=Column(Integer(), nullable=True))  # null: in flight
    headers: str | None = Field(default=None, sa_column=Column(Text(), nullable=True))  # JSON object
    body: bytes | None = Field(default=None, sa_column=Column(LargeBinary(), nullable=True))
    locked_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
