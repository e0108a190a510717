"""Phase II: priorities none and urgent (stored rank), categories, tags, recurrence, reminders

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02

Existing tasks get no category, no tags, no rule and no reminder; `priority_rank` is filled from their
priority. On SQLite the CHECK on `priority` can only change by rebuilding `tasks` (Alembic's batch
copy), which drops its triggers: the count triggers of migration 0002 are created again after it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Timestamp = sa.DateTime(timezone=True)
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
PRIORITIES_BEFORE = "priority IN ('low', 'medium', 'high')"
PRIORITIES_AFTER = "priority IN ('none', 'low', 'medium', 'high', 'urgent')"
RANK = "CASE priority WHEN 'none' THEN 0 WHEN 'low' THEN 1 WHEN 'medium' THEN 2 WHEN 'high' THEN 3 ELSE 4 END"

# Migration 0002's SQLite count triggers, as they must exist on `tasks` after a rebuild.
SQLITE_COUNT_TRIGGERS = [
    """CREATE TRIGGER tasks_count_insert AFTER INSERT ON tasks BEGIN
    UPDATE users SET task_count = task_count + 1, completed_count = completed_count + NEW.completed
    WHERE id = NEW.user_id; END""",
    """CREATE TRIGGER tasks_count_delete AFTER DELETE ON tasks BEGIN
    UPDATE users SET task_count = task_count - 1, completed_count = completed_count - OLD.completed
    WHERE id = OLD.user_id; END""",
    """CREATE TRIGGER tasks_count_update AFTER UPDATE OF user_id, completed ON tasks
    WHEN OLD.completed IS NOT NEW.completed OR OLD.user_id IS NOT NEW.user_id BEGIN
    UPDATE users SET task_count = task_count - 1, completed_count = completed_count - OLD.completed
    WHERE id = OLD.user_id;
    UPDATE users SET task_count = task_count + 1, completed_count = completed_count + NEW.completed
    WHERE id = NEW.user_id; END""",
]


def sqlite() -> bool:
    return op.get_context().dialect.name == "sqlite"


def replace_priority_check(check: str) -> None:
    if sqlite():
        with op.batch_alter_table("tasks", recreate="always", table_kwargs={"sqlite_autoincrement": True}) as batch:
            batch.drop_constraint("ck_tasks_priority", type_="check")
            batch.create_check_constraint("ck_tasks_priority", check)
        for trigger in SQLITE_COUNT_TRIGGERS:
            op.execute(trigger)
    else:
        op.drop_constraint("ck_tasks_priority", "tasks", type_="check")
        op.create_check_constraint("ck_tasks_priority", "tasks", check)


def upgrade() -> None:
    replace_priority_check(PRIORITIES_AFTER)
    op.add_column("tasks", sa.Column("priority_rank", sa.SmallInteger(), server_default="2", nullable=False))
    op.execute(f"UPDATE tasks SET priority_rank = {RANK}")  # noqa: S608 (constant SQL)
    for column in (
        sa.Column("category", sa.String(length=50), nullable=True),
        sa.Column("category_key", sa.String(), nullable=True),
        sa.Column("recurrence_rule", sa.String(length=500), nullable=True),
        sa.Column("series_start", Timestamp, nullable=True),
        sa.Column("reminder_at", Timestamp, nullable=True),
        sa.Column("next_occurrence_id", sa.BigInteger(), nullable=True),
    ):
        op.add_column("tasks", column)
    op.create_index("ix_tasks_user_category", "tasks", ["user_id", "category_key", "created_at", "id"])
    op.create_index("ix_tasks_user_completed_reminder", "tasks", ["user_id", "completed", "reminder_at"])
    op.create_table(
        "tags",
        sa.Column("id", BigId, sa.Identity(always=False), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("name_key", sa.String(), nullable=False),
        sa.Column("color", sa.String(length=7), nullable=True),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "name_key", name="uq_tags_user_name"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "task_tags",
        sa.Column("task_id", BigId, nullable=False),
        sa.Column("tag_id", BigId, nullable=False),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tag_id"], ["tags.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("task_id", "tag_id"),
    )
    op.create_index("ix_task_tags_tag_task", "task_tags", ["tag_id", "task_id"])


def downgrade() -> None:
    op.drop_index("ix_task_tags_tag_task", table_name="task_tags")
    op.drop_table("task_tags")
    op.drop_table("tags")
    op.drop_index("ix_tasks_user_completed_reminder", table_name="tasks")
    op.drop_index("ix_tasks_user_category", table_name="tasks")
    # Tasks of the new priorities keep their meaning as closely as the old ones can say it.
    op.execute("UPDATE tasks SET priority = 'low' WHERE priority = 'none'")
    op.execute("UPDATE tasks SET priority = 'high' WHERE priority = 'urgent'")
    for name in ("next_occurrence_id", "reminder_at", "series_start", "recurrence_rule", "category_key", "category"):
        op.execute(f"ALTER TABLE tasks DROP COLUMN {name}")  # plain ALTER: no batch copy of tasks needed
    op.execute("ALTER TABLE tasks DROP COLUMN priority_rank")
    replace_priority_check(PRIORITIES_BEFORE)
