"""pgbench scripts with the very SQL the list and get handlers issue, compiled from models/ for PostgreSQL.

The user (and task id) vary per transaction through pgbench variables, as the HTTP runs vary them.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import create_engine

from models import keyset, list_filters, queries
from models.db import normalize_url
from tests.bench import seed

PLACEHOLDER_USER = "bench-placeholder"
PLACEHOLDER_ID = 987654321


def compiled(statement: object, url: str) -> str:
    dialect = create_engine(normalize_url(url)).dialect
    return str(statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))  # type: ignore[attr-defined]


def pgbench_scripts(url: str) -> dict[str, str]:
    user = f"'{PLACEHOLDER_USER}'"
    each_user = f"\\set n random(1, {seed.USERS})\n"
    by_user = "'bench-' || :n"
    scripts = {}
    for name, status, keys in (("list_default", "all", ["-created"]), ("list_filtered", "pending", ["due_date"])):
        filters = list_filters.Filters(status=status)
        # A list without `offset` is a cursor's first page (models/keyset.py), one row more than its limit.
        stmt = keyset.page_statement(list_filters.shape_of(filters, []), tuple(keys), "postgresql", None)
        values = {**list_filters.params(PLACEHOLDER_USER, filters, [], datetime.now(UTC)), "limit": 101}
        sql = compiled(stmt.params(values), url)
        scripts[name] = each_user + sql.replace(user, by_user).replace("\n", " ") + ";\n"
    # Seeded ids are contiguous per user (seed.py), so task :id belongs to user (id - 1) / 50 + 1.
    get = compiled(queries.GET_TASK["postgresql"].params(task_id=PLACEHOLDER_ID, owner_id=PLACEHOLDER_USER), url)
    get = get.replace(str(PLACEHOLDER_ID), ":id").replace(user, f"'bench-' || ((:id - 1) / {seed.TASKS_PER_USER} + 1)")
    scripts["get"] = f"\\set id random(1, {seed.USERS * seed.TASKS_PER_USER})\n" + get.replace("\n", " ") + ";\n"
    return scripts
