"""Trigram index for `q` on PostgreSQL

Revision ID: 0006_trigram
Revises: 0005_keyset
Create Date: 2026-12-04

`q` is `user_id = ? AND (title ILIKE ? OR description ILIKE ?)` (models/list_filters.py), a substring match that
no btree serves: it read every task of the user. `ix_tasks_user_search` is one GIN index holding the user
id (btree_gin's opclass for varchar) and the trigrams of the title and description joined by a space
(pg_trgm). On PostgreSQL the list's WHERE adds `title || ' ' || coalesce(description, '') ILIKE ?`
(models/search_text.py), which holds whenever the OR does: one index condition, together with the user id.
ILIKE is only given an access path, and every row found is rechecked against the OR, so the results are
the scan's. A pattern without three consecutive letters or digits (`%ab%`) gives
pg_trgm nothing to look up; the planner then keeps the user's btree (docs/storage.md).

Both extensions are trusted (PostgreSQL 13+: CREATE privilege on the database is enough) and available on
Neon. Where they cannot be created the migration still succeeds, says why in one line, and creates no
index: `q` keeps scanning the user's tasks. SQLite keeps its scan (no trigram index there).

The index keeps a smaller pending list than GIN's default (see upgrade()). It is built in the
migration's transaction (like the other indexes): writes to `tasks` wait for
it, a few seconds per million tasks. Downgrade drops the index, not the extensions: they may predate this
migration or serve other objects, and dropping them needs the privileges creating them did.
"""

import logging
from collections.abc import Sequence

from alembic import op
from sqlalchemy import exc

revision: str = "0006_trigram"
down_revision: str | None = "0005_keyset"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_tasks_user_search"  # also named in migrations/env.py, which keeps it out of `alembic check`
log = logging.getLogger("alembic.runtime.migration")


def extensions_created() -> bool:
    """pg_trgm and btree_gin, each created unless present, in a savepoint: a failure (no privilege, not
    installed on the server) rolls back only them and is reported in one line."""
    bind = op.get_bind()
    try:
        with bind.begin_nested():
            for name in ("pg_trgm", "btree_gin"):
                bind.exec_driver_sql(f"CREATE EXTENSION IF NOT EXISTS {name}")
    except exc.DBAPIError as error:
        reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        log.warning("pg_trgm/btree_gin unavailable (%s): no %s, q keeps scanning the user's tasks", reason, INDEX)
        return False
    return True


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql" or not extensions_created():
        return
    # A pending list of at most 1 MB (GIN's default is 4 MB): new entries queue there, and every search
    # reads all of it until it is merged into the index. After 10,000 inserts (by anyone) a search of one
    # word in the 100,000-task user's tasks took 20.7 ms instead of 2.2 ms with 4 MB; with 1 MB, at most
    # ~3 ms. No list at all (`fastupdate = off`) kept searches at ~1.3 ms but made a 30,000-row INSERT
    # take 26 s instead of 3 s (1 MB: 4.6 s).
    # One text, title and description joined (models/search_text.py writes it the same way): `q`'s OR
    # over the two columns was two scans of the index, each paying for the user id's entries.
    columns = "user_id, (title || ' ' || coalesce(description, '')) gin_trgm_ops"
    op.execute(f"CREATE INDEX {INDEX} ON tasks USING gin ({columns}) WITH (gin_pending_list_limit = 1024)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP INDEX IF EXISTS {INDEX}")
