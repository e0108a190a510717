"""Seed a fresh, migrated PostgreSQL database with realistic data, in SQL (INSERT … SELECT generate_series).

1,000 users with 50 tasks each; 100 more whose tasks carry 3 of their 5 tags each; three users with
100, 10,000 and 100,000 tasks (cost growth), a tenth of them tagged `tag 1` and half `tag 2`; the users
whose tasks the delete run consumes. Titles, descriptions, priorities, completion and due dates vary the
way a real list does: a third completed, half without a due date, created over a year.
"""

from __future__ import annotations

from typing import Any

USERS = 1000
TASKS_PER_USER = 50
GROWTH_SIZES = (100, 10_000, 100_000)
# The delete run's tasks, spread over 100 users as real deletes are (the writes of one user serialize
# on their users row, which keeps the counts).
DELETE_USERS = [f"bench-del-{n}" for n in range(1, 101)]
DELETE_POOL = 600  # per user: 60k, more than a bounded delete run (warm-up included) uses here

USERS_SQL = """
INSERT INTO users (id, email, name, created_at)
SELECT id, id || '@example.com', 'Bench ' || id, now() - interval '400 days' FROM unnest(%(ids)s::text[]) AS id
"""

# One row per (user, k), in the order of the users given: ids are contiguous per user (bench-n has
# ids (n - 1) * 50 + 1 … n * 50), which pgbench's get script relies on. A real table's are not
# contiguous; it does not matter for what is measured (every query goes through user_id first).
TASKS_SQL = """
INSERT INTO tasks (user_id, title, title_key, description, completed, priority, due_date, completed_at,
                   created_at, updated_at)
SELECT u, t.title, lower(t.title), CASE WHEN k %% 4 = 0 THEN NULL ELSE 'Notes: ' || md5(k::text) END,
       k %% 3 = 0, (ARRAY['low', 'medium', 'high'])[1 + k %% 3],
       CASE WHEN k %% 2 = 0 THEN NULL ELSE t.created + (k %% 60) * interval '1 day' END,
       CASE WHEN k %% 3 = 0 THEN t.created + interval '1 hour' END, t.created, t.created
FROM unnest(%(users)s::text[]) WITH ORDINALITY AS x(u, n), generate_series(1, %(count)s) AS k,
     LATERAL (SELECT 'Task ' || k || ' ' || substr(md5(u || k), 1, 12) AS title,
                     now() - (%(count)s - k) * (interval '365 days' / %(count)s) AS created) AS t
ORDER BY n, k
"""


TAGGED_USERS = [f"bench-tagged-{n}" for n in range(1, 101)]
TAGS_SQL = """
INSERT INTO tags (user_id, name, name_key, created_at, updated_at)
SELECT u, 'tag ' || j, 'tag ' || j, now(), now() FROM unnest(%(users)s::text[]) AS u, generate_series(1, 5) AS j
"""
# Three of the user's five tags on every task (which three varies with the task).
THREE_TAGS_SQL = """
INSERT INTO task_tags (task_id, tag_id)
SELECT t.id, g.id FROM tasks t JOIN tags g ON g.user_id = t.user_id
WHERE t.user_id = ANY(%(users)s) AND (t.id + g.id) %% 5 < 3
"""
# What the tag-filtered lists of a growth user ask for: `tag 1` on a tenth of its tasks (the 100-task
# user's page has 10 rows, the others' 50), `tag 2` on half (every size fills the page of 50, so the sizes
# differ only in the tasks behind the page).
TAGGED_FRACTION_SQL = """
INSERT INTO task_tags (task_id, tag_id)
SELECT t.id, g.id FROM tasks t JOIN tags g ON g.user_id = t.user_id AND g.name = %(tag)s
WHERE t.user_id = ANY(%(users)s) AND t.id %% %(every)s = 0
"""
GROWTH_TAGS = {"tag": ("tag 1", 10), "tag_half": ("tag 2", 2)}  # growth figure: (tag, one task in every n)


def bench_users() -> list[str]:
    return [f"bench-{n}" for n in range(1, USERS + 1)]


def growth_user(size: int) -> str:
    return f"bench-grow-{size}"


def seed(cur: Any) -> None:
    growth = [growth_user(s) for s in GROWTH_SIZES]
    everyone = [*bench_users(), *TAGGED_USERS, *growth, *DELETE_USERS]
    cur.execute(USERS_SQL, {"ids": everyone})
    cur.execute(TASKS_SQL, {"users": bench_users(), "count": TASKS_PER_USER})
    cur.execute(TASKS_SQL, {"users": TAGGED_USERS, "count": TASKS_PER_USER})
    for size in GROWTH_SIZES:
        cur.execute(TASKS_SQL, {"users": [growth_user(size)], "count": size})
    cur.execute(TASKS_SQL, {"users": DELETE_USERS, "count": DELETE_POOL})
    cur.execute(TAGS_SQL, {"users": [*TAGGED_USERS, *growth]})
    cur.execute(THREE_TAGS_SQL, {"users": TAGGED_USERS})
    for tag, every in GROWTH_TAGS.values():
        cur.execute(TAGGED_FRACTION_SQL, {"users": growth, "tag": tag, "every": every})


def tag_ids(cur: Any, users: list[str], name: str) -> dict[str, int]:
    cur.execute("SELECT user_id, id FROM tags WHERE user_id = ANY(%s) AND name = %s", (users, name))
    return dict(cur.fetchall())


def task_ids(cur: Any, users: list[str]) -> dict[str, list[int]]:
    cur.execute("SELECT user_id, array_agg(id ORDER BY id) FROM tasks WHERE user_id = ANY(%s) GROUP BY 1", (users,))
    return dict(cur.fetchall())
