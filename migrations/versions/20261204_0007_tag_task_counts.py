"""tags.task_count kept by the task_tags triggers

Revision ID: 0007_tag_counts
Revises: 0006_trigram
Create Date: 2026-12-04

A tag's task count was a COUNT over its task_tags rows on every read: each tag of `GET …/tags`, and
X-Total-Count of `?tag_ids=7` (an index-only scan of 10,000 entries, ~2.5 ms, for a tag on a tenth of a
100,000-task user's tasks). The triggers of migration 0004 already update the tag's row whenever a task
takes or drops it (its version); they now keep its count too, in the same UPDATE, so reading it is one
row. Task and tag deletions reach the triggers through the ON DELETE CASCADE of task_tags.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_tag_counts"
down_revision: str | None = "0006_trigram"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# PostgreSQL: statement-level, one UPDATE per tag per statement (see migration 0004 for why not per row).
COUNTING = """CREATE OR REPLACE FUNCTION tag_tasks_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        UPDATE tags SET version = version + 1, task_count = 0 WHERE task_count <> 0;
    ELSIF TG_OP = 'INSERT' THEN
        UPDATE tags SET version = version + 1, task_count = task_count + d.n
        FROM (SELECT tag_id, count(*) AS n FROM new_rows GROUP BY tag_id) AS d WHERE tags.id = d.tag_id;
    ELSE
        UPDATE tags SET version = version + 1, task_count = task_count - d.n
        FROM (SELECT tag_id, count(*) AS n FROM old_rows GROUP BY tag_id) AS d WHERE tags.id = d.tag_id;
    END IF;
    RETURN NULL;
END $$"""
# TRUNCATE (`TRUNCATE tasks CASCADE` too) fires no DELETE trigger.
ON_TRUNCATE = """CREATE TRIGGER task_tags_truncated AFTER TRUNCATE ON task_tags
    FOR EACH STATEMENT EXECUTE FUNCTION tag_tasks_changed()"""
VERSIONING = """CREATE OR REPLACE FUNCTION tag_tasks_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE tags SET version = version + 1 WHERE id IN (SELECT tag_id FROM new_rows);
    ELSE
        UPDATE tags SET version = version + 1 WHERE id IN (SELECT tag_id FROM old_rows);
    END IF;
    RETURN NULL;
END $$"""


def sqlite_triggers(count: bool) -> list[str]:
    plus, minus = (", task_count = task_count + 1", ", task_count = task_count - 1") if count else ("", "")
    return [
        "DROP TRIGGER task_tags_inserted",
        "DROP TRIGGER task_tags_deleted",
        # `plus` and `minus` are the constants above, never input.
        f"""CREATE TRIGGER task_tags_inserted AFTER INSERT ON task_tags BEGIN
        UPDATE tags SET version = version + 1{plus} WHERE id = NEW.tag_id; END""",  # noqa: S608
        f"""CREATE TRIGGER task_tags_deleted AFTER DELETE ON task_tags BEGIN
        UPDATE tags SET version = version + 1{minus} WHERE id = OLD.tag_id; END""",  # noqa: S608
    ]


BACKFILL = "UPDATE tags SET task_count = (SELECT count(*) FROM task_tags WHERE task_tags.tag_id = tags.id)"


def upgrade() -> None:
    op.add_column("tags", sa.Column("task_count", sa.Integer(), server_default="0", nullable=False))
    postgresql = op.get_context().dialect.name == "postgresql"
    for statement in [COUNTING, ON_TRUNCATE] if postgresql else sqlite_triggers(count=True):
        op.execute(statement)
    # ADD COLUMN holds `tags` locked until this migration commits, and every write to task_tags updates
    # `tags` in its trigger: no write can slip between the new trigger and the backfill.
    op.execute(BACKFILL)


def downgrade() -> None:
    postgresql = op.get_context().dialect.name == "postgresql"
    undo = ["DROP TRIGGER task_tags_truncated ON task_tags", VERSIONING]
    for statement in undo if postgresql else sqlite_triggers(count=False):
        op.execute(statement)
    # Plain ALTER TABLE (SQLite >= 3.35 has it): a batch copy of `tags` would cascade-delete its task_tags.
    op.execute("ALTER TABLE tags DROP COLUMN task_count")
