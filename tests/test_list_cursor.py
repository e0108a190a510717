"""Keyset cursors on the list: `Link: rel="next"` carries a signed cursor when no `offset` is given. A walk
by cursor equals the full ordering for every sort, is refused (400) when edited or used on another list,
and sees every task that exists throughout exactly once while other clients create and delete tasks."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import Engine, update
from starlette.testclient import TestClient

from handlers.core.config import Settings
from models.queries import tasks
from tests.support.helpers import assert_problem, auth, create_task

SINGLE = ["created", "updated", "title", "due_date", "priority"]
SORTS = [*SINGLE, *(f"-{key}" for key in SINGLE), "-priority,title", "priority,-due_date", "due_date,-title"]
TITLES = ["apple", "Apple", "banana", "Éclair", "cherry", "apple"]
PRIORITIES = ["none", "low", "medium", "high", "urgent"]
BASE = datetime(2027, 1, 1, tzinfo=UTC)


def fields(rng: random.Random) -> dict[str, Any]:
    """Task fields with many ties: few titles, priorities and due dates, a third without a due date."""
    due = None if rng.random() < 0.34 else (BASE + timedelta(days=rng.randrange(5))).isoformat()
    return {"title": rng.choice(TITLES), "priority": rng.choice(PRIORITIES), "due_date": due}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """No rate limits: a walk with writes between its pages makes more requests than a minute allows."""
    return dataclasses.replace(settings, rate_limit_read="", rate_limit_write="")


@pytest.fixture
def seeded(client: TestClient, engine: Engine) -> list[int]:
    rng = random.Random(16)  # noqa: S311 (reproducible test data, not secrets)
    ids = [create_task(client, **fields(rng))["id"] for _ in range(40)]
    # Ties in created_at and updated_at too (the clock gives every task its own): whole seconds, shared.
    with engine.begin() as conn:
        for i, task_id in enumerate(ids):
            moment = BASE - timedelta(seconds=i // 4)
            later = BASE - timedelta(seconds=i % 3)
            conn.execute(update(tasks).where(tasks.c.id == task_id).values(created_at=moment, updated_at=later))
    return ids


def get(client: TestClient, url: str, user: str = "alice") -> Any:
    response = client.get(url, headers=auth(user))
    assert response.status_code == 200, response.text
    return response


def next_url(response: Any) -> str | None:
    link = response.headers.get("Link")
    if link is None:
        return None
    assert link.endswith('>; rel="next"') and link.count("<") == 1, link
    url: str = link[1:].split(">")[0]
    assert "offset" not in parse_qs(urlsplit(url).query)
    return url


def walk(client: TestClient, url: str, between: Any = None) -> list[int]:
    seen: list[int] = []
    next_page: str | None = url
    while next_page:
        response = get(client, next_page)
        seen += [task["id"] for task in response.json()]
        next_page = next_url(response)
        if next_page and between:
            between()
    return seen


def cursor_of(response: Any) -> str:
    url = next_url(response)
    assert url is not None
    return parse_qs(urlsplit(url).query)["cursor"][0]


def sort_value(task: dict[str, Any], key: str) -> Any:
    moment = {"created": "created_at", "updated": "updated_at", "due_date": "due_date"}.get(key)
    if moment:
        return None if task[moment] is None else datetime.fromisoformat(task[moment])
    return task["title"].casefold().encode() if key == "title" else PRIORITIES.index(task["priority"])


@pytest.mark.parametrize("sort", SORTS)
def test_a_walk_by_cursor_is_the_whole_ordering(client: TestClient, seeded: list[int], sort: str) -> None:
    whole = get(client, f"/api/alice/tasks?sort={sort}&limit=500&offset=0").json()
    assert walk(client, f"/api/alice/tasks?sort={sort}&limit=7") == [task["id"] for task in whole]
    if "," not in sort:  # and that order is the key's, NULLs last either way, ties by id in its direction
        key, down = sort.lstrip("-"), sort.startswith("-")
        dated = [t for t in whole if sort_value(t, key) is not None]
        dated.sort(key=lambda t: (sort_value(t, key), t["id"]))
        undated = sorted((t for t in whole if sort_value(t, key) is None), key=lambda t: t["id"])
        expected = (dated[::-1] if down else dated) + (undated[::-1] if down else undated)
        assert [t["id"] for t in whole] == [t["id"] for t in expected]


def test_the_first_page_links_by_cursor_and_keeps_the_parameters(client: TestClient, seeded: list[int]) -> None:
    response = get(client, "/api/alice/tasks?priority=high&sort_by=title&order=desc&limit=2")
    url = next_url(response)
    assert url is not None and url.startswith("/api/alice/tasks?status=all&priority=high&sort_by=title&order=desc")
    assert set(parse_qs(urlsplit(url).query)) == {"status", "priority", "sort_by", "order", "limit", "cursor"}
    assert len(cursor_of(response)) < 200
    total = response.headers["X-Total-Count"]
    second = get(client, url)
    assert second.headers["X-Total-Count"] == total  # the whole filtered set, on every page


def test_no_next_on_the_last_page_even_when_it_is_full(client: TestClient) -> None:
    ids = [create_task(client, title=f"t{i}")["id"] for i in range(6)]
    first = get(client, "/api/alice/tasks?sort=created&limit=3")
    last = get(client, next_url(first) or "")
    assert [t["id"] for t in last.json()] == ids[3:] and "Link" not in last.headers
    assert "Link" not in get(client, "/api/alice/tasks?limit=6").headers
    assert "Link" not in get(client, "/api/alice/tasks?limit=7").headers


def test_limit_may_change_between_pages(client: TestClient, seeded: list[int]) -> None:
    first = get(client, "/api/alice/tasks?sort=title&limit=5")
    rest = get(client, f"/api/alice/tasks?sort=title&limit=500&cursor={cursor_of(first)}")
    whole = get(client, "/api/alice/tasks?sort=title&limit=500").json()
    assert [t["id"] for t in first.json() + rest.json()] == [t["id"] for t in whole]


def flipped(cursor: str, at: int) -> str:
    return cursor[:at] + ("A" if cursor[at] != "A" else "B") + cursor[at + 1 :]


@pytest.mark.parametrize(
    ("query", "user"),
    [("sort=due_date&cursor={flip_first}", "alice"), ("sort=due_date&cursor={flip_last}", "alice"),
     ("sort=due_date&cursor={flip_middle}", "alice"), ("sort=due_date&cursor={cursor}", "bob"),
     ("sort=-due_date&cursor={cursor}", "alice"), ("sort=due_date,title&cursor={cursor}", "alice"),
     ("sort=due_date&status=pending&cursor={cursor}", "alice"), ("sort=due_date&q=apple&cursor={cursor}", "alice"),
     ("sort=due_date&cursor={short}", "alice"), ("sort=due_date&cursor=AAAA", "alice"),
     ("sort=due_date&cursor=A", "alice")],
)  # fmt: skip
def test_a_cursor_is_only_valid_for_its_list(client: TestClient, seeded: list[int], query: str, user: str) -> None:
    cursor = cursor_of(get(client, "/api/alice/tasks?sort=due_date&limit=3"))
    mid = len(cursor) // 2
    values = {"cursor": cursor, "flip_first": flipped(cursor, 0), "flip_last": flipped(cursor, len(cursor) - 1)}
    values.update(flip_middle=flipped(cursor, mid), short=cursor[:-4])
    problem = assert_problem(client.get(f"/api/{user}/tasks?{query.format(**values)}", headers=auth(user)), 400)
    assert problem["errors"][0]["parameter"] == "cursor"
    assert "start again without one" in problem["detail"]


@pytest.mark.parametrize("cursor", ["a%00b", "a+b", "a=", "x" * 4097, "%C3%A9"])
def test_a_cursor_outside_the_alphabet_is_refused_by_the_contract(client: TestClient, cursor: str) -> None:
    assert_problem(client.get(f"/api/alice/tasks?cursor={cursor}", headers=auth()), 400)


def test_cursor_and_offset_together_are_400(client: TestClient, seeded: list[int]) -> None:
    cursor = cursor_of(get(client, "/api/alice/tasks?limit=3"))
    problem = assert_problem(client.get(f"/api/alice/tasks?offset=0&cursor={cursor}", headers=auth()), 400)
    assert problem["errors"][0]["parameter"] == "cursor"


def test_an_equivalent_spelling_of_the_same_list_keeps_its_cursor(client: TestClient, seeded: list[int]) -> None:
    cursor = cursor_of(get(client, "/api/alice/tasks?status=incomplete&sort=created_at&order=desc&limit=3"))
    assert get(client, f"/api/alice/tasks?status=pending&sort=-created&cursor={cursor}").json()


@pytest.mark.parametrize("sort", SORTS)
def test_a_walk_sees_every_task_that_exists_throughout_once(client: TestClient, seeded: list[int], sort: str) -> None:
    """Between page fetches other clients create tasks (sorting anywhere) and delete some of the others:
    every survivor appears exactly once, and no task twice."""
    rng = random.Random(sort)  # noqa: S311 (reproducible test data)
    survivors = set(rng.sample(seeded, 25))
    doomed = [task_id for task_id in seeded if task_id not in survivors]
    rng.shuffle(doomed)

    def others_write() -> None:
        for _ in range(2):
            create_task(client, **fields(rng))
            if doomed:
                assert client.delete(f"/api/alice/tasks/{doomed.pop()}", headers=auth()).status_code == 204

    seen = walk(client, f"/api/alice/tasks?sort={sort}&limit=7", between=others_write)
    assert len(seen) == len(set(seen)), "a task was listed twice"
    assert survivors <= set(seen), f"missed {sorted(survivors - set(seen))}"


@pytest.mark.parametrize("sort", ["-created", "due_date", "-due_date", "title"])
def test_every_row_of_a_cursor_page_carries_its_tags(client: TestClient, sort: str) -> None:
    """The tags come with the page's own statement (models.tag_summaries), due dates' two reads too."""
    for n in range(4):
        due = {"due_date": f"2027-0{n + 1}-01"} if n % 2 else {}
        create_task(client, title=f"t{n}", tags=[f"tag {n}", "shared"], **due)
    first = client.get(f"/api/alice/tasks?sort={sort}&limit=3", headers=auth())
    second = client.get(next_url(first) or "", headers=auth())
    for task in [*first.json(), *second.json()]:
        assert [tag["name"] for tag in task["tags"]] == ["shared", f"tag {task['title'][1]}"], task


def test_a_cursor_spelt_another_way_is_refused() -> None:
    """base64 leaves bits of a cursor's last character unused, and Python's decoder ignores them: `…A`
    and `…B` can be the same bytes. Only the spelling the service made is accepted (CI once saw a flipped
    last character pass)."""
    from handlers.cursor_signing import pack, unpack

    key = b"k" * 32
    cursor = pack(key, "alice", b"\x01")  # 17 bytes: the last character's two low bits are unused
    assert unpack(key, "alice", cursor) == b"\x01"
    last = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".index(cursor[-1])
    respelt = cursor[:-1] + "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[last | 1]
    assert respelt != cursor
    assert base64_bytes(respelt) == base64_bytes(cursor)  # the same bytes, another spelling
    assert unpack(key, "alice", respelt) is None


def base64_bytes(text: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
