"""Indexes for keyset (cursor) paging by every sort key

Revision ID: 0005_keyset
Revises: 0004
Create Date: 2026-12-04

A cursor page is `WHERE user_id = ? AND (key, id) > (?, ?) ORDER BY key, id LIMIT n`: with an index on
(user_id, key, id) the row comparison is the start of an index range, so the 1,000th page costs what
the first does. `created` had one already (ix_tasks_user_created); these add `updated`, `title`,
`priority` and `due_date` (ix_tasks_user_completed_due leads with `completed`, so it serves only lists
filtered by status). The title index is on `title_key COLLATE "C"` on PostgreSQL, the collation the list
sorts by (models/list_filters.py): an index in the database's collation could not serve that order.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_keyset"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "ix_tasks_user_updated": "updated_at",
    "ix_tasks_user_title": "title_key",
    "ix_tasks_user_priority": "priority_rank",
    "ix_tasks_user_due": "due_date",
}


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for name, column in INDEXES.items():
        key: str | sa.TextClause = column
        if column == "title_key" and postgresql:
            key = sa.text('title_key COLLATE "C"')
        op.create_index(name, "tasks", ["user_id", key, "id"])


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="tasks")
