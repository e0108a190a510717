"""A user, as known from the claims of their tokens (Better Auth owns the real account)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, String
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: str = Field(sa_column=Column(String(255), primary_key=True))
    email: str | None = Field(default=None, sa_column=Column(String(320), nullable=True))
    name: str | None = Field(default=None, sa_column=Column(String(255), nullable=True))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
