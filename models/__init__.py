"""Storage: SQLModel tables (the schema Alembic migrates to) and the database engine."""

from models.sync import IdempotencyKey, Tombstone
from models.tag import Tag, TaskTag
from models.task import PRIORITIES, Task
from models.types import UTCDateTime
from models.user import User

__all__ = ["PRIORITIES", "IdempotencyKey", "Tag", "Task", "TaskTag", "Tombstone", "UTCDateTime", "User"]
