"""per-user task counts kept by triggers; index for status + due_date lists

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21

`X-Total-Count` was a COUNT over every matching task on each full page: ~100k index entries per
request for a user with 100k tasks. The counts of a user's tasks (all, completed) are now kept on the
user's row by triggers, in the same transaction as the write, whoever writes; the list reads them in
O(1) when it filters by status alone. `ix_tasks_user_completed_due` serves `status=…&sort=due_date`
(an ordered index scan instead of sorting every pending task).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLite (row triggers; it updates rows in place).
ADD = "UPDATE users SET task_count = task_count + 1, completed_count = completed_count + {c} WHERE id = {u};"
SUBTRACT = "UPDATE users SET task_count = task_count - 1, completed_count = completed_count - {c} WHERE id = {u};"

# Statement-level on PostgreSQL: one UPDATE of users per statement, however many rows it touched. A row
# trigger updates the same users row once per task, and in one transaction that costs O(n) per row
# (every version stays in the HOT chain): inserting 100k tasks for one user took 7 minutes.
CHANGES = {
    "INSERT": "SELECT user_id, 1 AS tasks, completed::int AS completed FROM new_rows",
    "DELETE": "SELECT user_id, -1 AS tasks, -completed::int AS completed FROM old_rows",
}
CHANGES["UPDATE"] = CHANGES["INSERT"] + " UNION ALL " + CHANGES["DELETE"]


def apply(changes: str) -> str:
    # `changes` is one of the constant SELECTs above, never input.
    totals = f"SELECT user_id, sum(tasks) AS tasks, sum(completed) AS completed FROM ({changes}) AS c GROUP BY 1"  # noqa: S608
    set_counts = "UPDATE users SET task_count = task_count + d.tasks, completed_count = completed_count + d.completed"
    return f"{set_counts} FROM ({totals}) AS d WHERE users.id = d.user_id AND (d.tasks <> 0 OR d.completed <> 0);"


POSTGRESQL = [
    # The f-string holds only the constant SELECTs above, never input.
    f"""CREATE FUNCTION tasks_keep_user_counts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {apply(CHANGES["INSERT"])}
    ELSIF TG_OP = 'DELETE' THEN
        {apply(CHANGES["DELETE"])}
    ELSIF TG_OP = 'TRUNCATE' THEN
        UPDATE users SET task_count = 0, completed_count = 0 WHERE task_count <> 0 OR completed_count <> 0;
    ELSE
        {apply(CHANGES["UPDATE"])}
    END IF;
    RETURN NULL;
END $$""",  # noqa: S608
    """CREATE TRIGGER tasks_count_insert AFTER INSERT ON tasks REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tasks_keep_user_counts()""",
    """CREATE TRIGGER tasks_count_delete AFTER DELETE ON tasks REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tasks_keep_user_counts()""",
    # Every UPDATE fires it (transition tables exclude a column list); a title edit nets to zero and
    # writes nothing.
    """CREATE TRIGGER tasks_count_update AFTER UPDATE ON tasks REFERENCING OLD TABLE AS old_rows
    NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION tasks_keep_user_counts()""",
    # TRUNCATE fires no DELETE trigger (SQLite has no TRUNCATE; its DELETE without WHERE fires row triggers).
    """CREATE TRIGGER tasks_count_truncate AFTER TRUNCATE ON tasks
    FOR EACH STATEMENT EXECUTE FUNCTION tasks_keep_user_counts()""",
]
SQLITE = [
    f"""CREATE TRIGGER tasks_count_insert AFTER INSERT ON tasks BEGIN
    {ADD.format(c="NEW.completed", u="NEW.user_id")} END""",
    f"""CREATE TRIGGER tasks_count_delete AFTER DELETE ON tasks BEGIN
    {SUBTRACT.format(c="OLD.completed", u="OLD.user_id")} END""",
    f"""CREATE TRIGGER tasks_count_update AFTER UPDATE OF user_id, completed ON tasks
    WHEN OLD.completed IS NOT NEW.completed OR OLD.user_id IS NOT NEW.user_id BEGIN
    {SUBTRACT.format(c="OLD.completed", u="OLD.user_id")}
    {ADD.format(c="NEW.completed", u="NEW.user_id")} END""",
]
BACKFILL = """UPDATE users SET
    task_count = (SELECT count(*) FROM tasks WHERE tasks.user_id = users.id),
    completed_count = (SELECT count(*) FROM tasks WHERE tasks.user_id = users.id AND tasks.completed)"""


def upgrade() -> None:
    op.add_column("users", sa.Column("task_count", sa.Integer(), server_default="0", nullable=False))
    op.add_column("users", sa.Column("completed_count", sa.Integer(), server_default="0", nullable=False))
    for statement in POSTGRESQL if op.get_context().dialect.name == "postgresql" else SQLITE:
        op.execute(statement)
    # The DDL above locks out writers to both tables until this migration commits: the backfill is exact.
    op.execute(BACKFILL)
    op.create_index("ix_tasks_user_completed_due", "tasks", ["user_id", "completed", "due_date", "id"])


def downgrade() -> None:
    op.drop_index("ix_tasks_user_completed_due", table_name="tasks")
    if op.get_context().dialect.name == "postgresql":
        for name in ("tasks_count_truncate", "tasks_count_update", "tasks_count_delete", "tasks_count_insert"):
            op.execute(f"DROP TRIGGER {name} ON tasks")
        op.execute("DROP FUNCTION tasks_keep_user_counts()")
    else:
        for name in ("tasks_count_update", "tasks_count_delete", "tasks_count_insert"):
            op.execute(f"DROP TRIGGER {name}")
    # Plain ALTER TABLE (SQLite >= 3.35 has it): a batch copy of `users` would cascade-delete its tasks.
    op.execute("ALTER TABLE users DROP COLUMN completed_count")
    op.execute("ALTER TABLE users DROP COLUMN task_count")
