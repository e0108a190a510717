"""X-Total-Count on full pages comes from per-user counts kept by triggers (migration 0002): they must
equal a real COUNT after every kind of write, through the API and through plain SQL."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text
from starlette.testclient import TestClient

from tests.support.helpers import auth, create_tag, create_task

STATUSES = ("all", "pending", "completed")
COUNTS = {
    "all": "SELECT count(*) FROM tasks WHERE user_id = :u",
    "pending": "SELECT count(*) FROM tasks WHERE user_id = :u AND NOT completed",
    "completed": "SELECT count(*) FROM tasks WHERE user_id = :u AND completed",
}


def total(client: TestClient, status: str, user: str = "alice") -> int:
    # limit=1 makes the page full, so the count is asked for rather than read off a short page.
    response = client.get(f"/api/{user}/tasks?status={status}&limit=1", headers=auth(user))
    assert response.status_code == 200, response.text
    return int(response.headers["X-Total-Count"])


def counted(engine: Engine, status: str, user: str = "alice") -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(COUNTS[status]), {"u": user}).scalar())


def assert_counts(client: TestClient, engine: Engine, expected: dict[str, int], user: str = "alice") -> None:
    assert {s: counted(engine, s, user) for s in STATUSES} == expected  # the fixture itself is right
    assert {s: total(client, s, user) for s in STATUSES} == expected


def test_counts_follow_every_api_write(client: TestClient, engine: Engine) -> None:
    tasks = [create_task(client, title=f"t{n}", completed=n == 0) for n in range(4)]
    create_task(client, user="bob")  # another user's tasks never count
    assert_counts(client, engine, {"all": 4, "pending": 3, "completed": 1})
    ids = [t["id"] for t in tasks]
    assert client.patch(f"/api/alice/tasks/{ids[1]}/complete", json={"completed": True}, headers=auth()).is_success
    assert client.patch(f"/api/alice/tasks/{ids[1]}/complete", json={"completed": True}, headers=auth()).is_success
    assert client.patch(f"/api/alice/tasks/{ids[0]}/complete", headers=auth()).is_success  # toggle back
    assert client.put(f"/api/alice/tasks/{ids[2]}", json={"completed": True}, headers=auth()).is_success
    assert client.put(f"/api/alice/tasks/{ids[3]}", json={"title": "renamed"}, headers=auth()).is_success
    assert_counts(client, engine, {"all": 4, "pending": 2, "completed": 2})
    assert client.delete(f"/api/alice/tasks/{ids[2]}", headers=auth()).status_code == 204
    assert client.delete(f"/api/alice/tasks/{ids[2]}", headers=auth()).status_code == 404  # no double count
    assert_counts(client, engine, {"all": 3, "pending": 2, "completed": 1})
    assert_counts(client, engine, {"all": 1, "pending": 1, "completed": 0}, user="bob")


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE tasks SET completed = NOT completed",
        "UPDATE tasks SET user_id = 'bob' WHERE title = 't1'",
        "DELETE FROM tasks WHERE completed",
        "INSERT INTO tasks (user_id, title, title_key, completed, priority, created_at, updated_at) "
        "SELECT user_id, title, title_key, completed, priority, created_at, updated_at FROM tasks",
    ],
)
def test_counts_follow_plain_sql(client: TestClient, engine: Engine, statement: str) -> None:
    for n in range(3):
        create_task(client, title=f"t{n}", completed=n == 2)
    create_task(client, user="bob")
    with engine.begin() as conn:
        conn.execute(text(statement))
    for user in ("alice", "bob"):
        assert_counts(client, engine, {s: counted(engine, s, user) for s in STATUSES}, user=user)


def test_filtered_counts_are_still_exact(client: TestClient) -> None:
    """With `priority` or `q` the count is a COUNT over the matches, not the user's totals."""
    for n in range(3):
        create_task(client, title=f"needle {n}" if n else "hay", priority="high" if n < 2 else "low")
    for query, expected in (("priority=high", 2), ("q=needle", 2), ("q=needle&priority=high", 1)):
        response = client.get(f"/api/alice/tasks?{query}&limit=1", headers=auth())
        assert response.headers["X-Total-Count"] == str(expected), query


def test_truncate_zeroes_the_counts(client: TestClient, engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite has no TRUNCATE")
    for _ in range(3):
        create_task(client)
    assert total(client, "all") == 3
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE tasks CASCADE"))
    create_task(client)
    assert [total(client, status) for status in STATUSES] == [counted(engine, s) for s in STATUSES] == [1, 1, 0]


def tag_counts(client: TestClient, engine: Engine, user: str = "alice") -> dict[int, tuple[int, int]]:
    """Each tag's task_count as the API gives it, and as a COUNT of its task_tags rows."""
    listed = {t["id"]: t["task_count"] for t in client.get(f"/api/{user}/tags", headers=auth(user)).json()}
    with engine.connect() as conn:
        real = dict(conn.execute(text("SELECT tag_id, count(*) FROM task_tags GROUP BY tag_id")).all())
    return {tag_id: (count, real.get(tag_id, 0)) for tag_id, count in listed.items()}


def assert_tag_counts(client: TestClient, engine: Engine, expected: dict[int, int], user: str = "alice") -> None:
    assert tag_counts(client, engine, user) == {tag_id: (n, n) for tag_id, n in expected.items()}
    for tag_id, n in expected.items():  # `?tag_ids=` alone: X-Total-Count is the tag's count (limit=1: a full page)
        response = client.get(f"/api/{user}/tasks?tag_ids={tag_id}&limit=1", headers=auth(user))
        assert response.headers["X-Total-Count"] == str(n), tag_id


def test_tag_counts_follow_every_api_write(client: TestClient, engine: Engine) -> None:
    """Kept by the task_tags triggers (migration 0007): tagging, untagging, replacing, and the cascades of
    deleting a task or a tag."""
    work, home, misc = (create_tag(client, name=name)["id"] for name in ("work", "home", "misc"))
    a = create_task(client, tag_ids=[work, home])["id"]
    b = create_task(client, tag_ids=[work])["id"]
    create_task(client, tags=["home", "new"])
    new = next(t["id"] for t in client.get("/api/alice/tags", headers=auth()).json() if t["name"] == "new")
    assert_tag_counts(client, engine, {work: 2, home: 2, misc: 0, new: 1})
    assert client.post(f"/api/alice/tasks/{b}/tags", json={"tag_ids": [misc, work]}, headers=auth()).is_success
    assert client.delete(f"/api/alice/tasks/{a}/tags/{home}", headers=auth()).is_success
    assert_tag_counts(client, engine, {work: 2, home: 1, misc: 1, new: 1})
    assert client.patch(f"/api/alice/tasks/{b}", json={"tag_ids": [home]}, headers=auth()).is_success
    assert_tag_counts(client, engine, {work: 1, home: 2, misc: 0, new: 1})
    assert client.delete(f"/api/alice/tasks/{a}", headers=auth()).status_code == 204
    assert client.delete(f"/api/alice/tags/{new}", headers=auth()).status_code == 204
    assert_tag_counts(client, engine, {work: 0, home: 2, misc: 0})
    bobs = create_tag(client, user="bob", name="work")["id"]
    create_task(client, user="bob", tag_ids=[bobs])
    assert_tag_counts(client, engine, {bobs: 1}, user="bob")
    assert_tag_counts(client, engine, {work: 0, home: 2, misc: 0})


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO task_tags (task_id, tag_id) SELECT t.id, g.id FROM tasks t JOIN tags g ON g.user_id = t.user_id "
        "WHERE g.name = 'second'",
        "DELETE FROM task_tags WHERE tag_id IN (SELECT min(id) FROM tags)",
        "DELETE FROM tasks WHERE title = 't1'",
        "TRUNCATE tasks CASCADE",
    ],
)
def test_tag_counts_follow_plain_sql(client: TestClient, engine: Engine, statement: str) -> None:
    if statement.startswith("TRUNCATE") and engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite has no TRUNCATE")
    first, second = create_tag(client, name="first")["id"], create_tag(client, name="second")["id"]
    for n in range(3):
        create_task(client, title=f"t{n}", tag_ids=[first] if n else [])
    with engine.begin() as conn:
        conn.execute(text(statement))
    assert all(api == real for api, real in tag_counts(client, engine).values())
    assert set(tag_counts(client, engine)) == {first, second}
