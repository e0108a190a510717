"""Versions, idempotency keys, client ids and the change feed

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03

Tasks and tags get `version` (1 at creation; every write statement adds one) and `change_seq`, their
place in the user's change feed. Triggers assign `change_seq` inside the writing transaction, after
taking a lock that serialises one user's writes, so one user's changes get their numbers in commit order
and a reader paging by `change_seq` never skips a change committed later with a smaller number:

- PostgreSQL: a BEFORE row trigger locks the user's row `FOR NO KEY UPDATE` (held to the commit; it
  does not block foreign-key checks, which take KEY SHARE) and draws from the global `change_seq`
  sequence. A lock writes no new row version, so a 100,000-row INSERT stays fast (a counter UPDATE per
  row would not: see migration 0002).
- SQLite has one writer at a time: an AFTER row trigger bumps a counter on the user's row
  (`users.change_seq`, updated in place) and copies it.

A task taking or dropping a tag is a new version of the tag (its `task_count` changed), by a trigger on
`task_tags`. A deleted task or tag leaves a tombstone (an AFTER DELETE trigger, with its own `change_seq`), purged
after TOMBSTONE_DAYS; `users.purged_seq` is the highest sequence purged, so an older cursor is a 410.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Timestamp = sa.DateTime(timezone=True)
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ITEMS = {"tasks": "task_deleted", "tags": "tag_deleted"}

POSTGRESQL = [
    "CREATE SEQUENCE change_seq AS bigint",
    """CREATE FUNCTION assign_change_seq() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM users WHERE id = NEW.user_id FOR NO KEY UPDATE;
    NEW.change_seq := nextval('change_seq');
    RETURN NEW;
END $$""",
    """CREATE FUNCTION record_tombstone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM users WHERE id = OLD.user_id FOR NO KEY UPDATE;
    IF FOUND THEN  -- not when the user's row itself is going
        INSERT INTO tombstones (user_id, kind, item_id, version, deleted_at, change_seq)
        VALUES (OLD.user_id, TG_ARGV[0], OLD.id, OLD.version + 1, clock_timestamp(), nextval('change_seq'));
    END IF;
    RETURN NULL;
END $$""",
]
# A tag's task_count is part of its representation: a task taking or dropping the tag is a new version.
# Statement-level on PostgreSQL (one UPDATE per tag per statement): a row trigger bumping one tag row per
# task_tags row made INSERT … SELECT of 12,000 rows for one tag exceed the 5 s statement timeout (every
# version of the tag's row stays in its HOT chain within the transaction; see migration 0002).
POSTGRESQL += [
    """CREATE FUNCTION tag_tasks_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE tags SET version = version + 1 WHERE id IN (SELECT tag_id FROM new_rows);
    ELSE
        UPDATE tags SET version = version + 1 WHERE id IN (SELECT tag_id FROM old_rows);
    END IF;
    RETURN NULL;
END $$""",
    """CREATE TRIGGER task_tags_inserted AFTER INSERT ON task_tags REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tag_tasks_changed()""",
    """CREATE TRIGGER task_tags_deleted AFTER DELETE ON task_tags REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tag_tasks_changed()""",
]
for _table, _kind in ITEMS.items():
    POSTGRESQL += [
        f"""CREATE TRIGGER {_table}_change_seq BEFORE INSERT OR UPDATE ON {_table}
        FOR EACH ROW EXECUTE FUNCTION assign_change_seq()""",
        f"""CREATE TRIGGER {_table}_tombstone AFTER DELETE ON {_table}
        FOR EACH ROW EXECUTE FUNCTION record_tombstone('{_kind}')""",
    ]

SQLITE_NOW = "strftime('%Y-%m-%d %H:%M:%f', 'now') || '000'"  # as SQLAlchemy stores a DateTime: fixed width
BUMP = "UPDATE users SET change_seq = change_seq + 1 WHERE id = {u};"
SQLITE = [
    """CREATE TRIGGER task_tags_inserted AFTER INSERT ON task_tags BEGIN
    UPDATE tags SET version = version + 1 WHERE id = NEW.tag_id; END""",
    """CREATE TRIGGER task_tags_deleted AFTER DELETE ON task_tags BEGIN
    UPDATE tags SET version = version + 1 WHERE id = OLD.tag_id; END""",
]
for _table, _kind in ITEMS.items():
    # Constant table names and kinds only (ITEMS above), never input.
    _copy = f"UPDATE {_table} SET change_seq = (SELECT change_seq FROM users WHERE id = NEW.user_id) WHERE id = NEW.id;"  # noqa: S608
    SQLITE += [
        f"""CREATE TRIGGER {_table}_change_seq_insert AFTER INSERT ON {_table} BEGIN
        {BUMP.format(u="NEW.user_id")} {_copy} END""",
        # The copy itself changes change_seq, so the WHEN keeps it from firing this trigger again.
        f"""CREATE TRIGGER {_table}_change_seq_update AFTER UPDATE ON {_table}
        WHEN NEW.change_seq IS OLD.change_seq BEGIN {BUMP.format(u="NEW.user_id")} {_copy} END""",
        f"""CREATE TRIGGER {_table}_tombstone AFTER DELETE ON {_table}
        WHEN EXISTS (SELECT 1 FROM users WHERE id = OLD.user_id) BEGIN {BUMP.format(u="OLD.user_id")}
        INSERT INTO tombstones (user_id, kind, item_id, version, deleted_at, change_seq)
        SELECT OLD.user_id, '{_kind}', OLD.id, OLD.version + 1, {SQLITE_NOW}, change_seq
        FROM users WHERE id = OLD.user_id; END""",  # noqa: S608
    ]


def upgrade() -> None:
    for table in ITEMS:
        op.add_column(table, sa.Column("version", sa.BigInteger(), server_default="1", nullable=False))
        op.add_column(table, sa.Column("change_seq", sa.BigInteger(), server_default="0", nullable=False))
        op.create_index(f"ix_{table}_user_change", table, ["user_id", "change_seq"])
    op.add_column("tasks", sa.Column("client_id", sa.String(length=36), nullable=True))
    op.create_index("uq_tasks_user_client", "tasks", ["user_id", "client_id"], unique=True)
    op.add_column("users", sa.Column("change_seq", sa.BigInteger(), server_default="0", nullable=False))
    op.add_column("users", sa.Column("purged_seq", sa.BigInteger(), server_default="0", nullable=False))
    op.create_table(
        "tombstones",
        sa.Column("id", BigId, sa.Identity(always=False), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("item_id", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("deleted_at", Timestamp, nullable=False),
        sa.Column("change_seq", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_tombstones_user_change", "tombstones", ["user_id", "change_seq"])
    op.create_index("ix_tombstones_deleted_at", "tombstones", ["deleted_at"])
    op.create_table(
        "idempotency_keys",
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),  # null while the first request is in flight
        sa.Column("headers", sa.Text(), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        sa.Column("locked_at", Timestamp, nullable=False),
        sa.Column("expires_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("user_id", "key"),
    )
    op.create_index("ix_idempotency_keys_expires_at", "idempotency_keys", ["expires_at"])
    for statement in POSTGRESQL if op.get_context().dialect.name == "postgresql" else SQLITE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        for table in ITEMS:
            op.execute(f"DROP TRIGGER {table}_change_seq ON {table}")
            op.execute(f"DROP TRIGGER {table}_tombstone ON {table}")
        op.execute("DROP TRIGGER task_tags_inserted ON task_tags")
        op.execute("DROP TRIGGER task_tags_deleted ON task_tags")
        op.execute("DROP FUNCTION tag_tasks_changed()")
        op.execute("DROP FUNCTION record_tombstone()")
        op.execute("DROP FUNCTION assign_change_seq()")
        op.execute("DROP SEQUENCE change_seq")
    else:
        op.execute("DROP TRIGGER task_tags_inserted")
        op.execute("DROP TRIGGER task_tags_deleted")
        for table in ITEMS:
            for suffix in ("change_seq_insert", "change_seq_update", "tombstone"):
                op.execute(f"DROP TRIGGER {table}_{suffix}")
    op.drop_table("idempotency_keys")
    op.drop_table("tombstones")
    op.drop_index("uq_tasks_user_client", table_name="tasks")
    for table in ITEMS:
        op.drop_index(f"ix_{table}_user_change", table_name=table)
    for table, column in (("tasks", "client_id"), ("tasks", "change_seq"), ("tasks", "version"),
                          ("tags", "change_seq"), ("tags", "version"), ("users", "purged_seq"),
                          ("users", "change_seq")):  # fmt: skip
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
