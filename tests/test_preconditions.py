"""Versions and ETags: 304 for a current copy, If-Match as a compare-and-set on every write, 428 when
the server requires it."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from handlers.app import create_app
from handlers.core.config import Settings
from tests.support.helpers import assert_problem, auth, create_tag, create_task


def with_header(name: str, value: str) -> dict[str, str]:
    return {**auth(), name: value}


def test_every_task_response_carries_its_version_as_a_strong_etag(client: TestClient) -> None:
    created = client.post("/api/alice/tasks", json={"title": "x"}, headers=auth())
    assert (created.json()["version"], created.headers["ETag"]) == (1, '"1"')
    url = created.headers["Location"]
    updated = client.put(url, json={"title": "y"}, headers=auth())
    assert (updated.json()["version"], updated.headers["ETag"]) == (2, '"2"')
    toggled = client.patch(f"{url}/complete", headers=auth())
    assert toggled.headers["ETag"] == '"3"'
    assert client.get(url, headers=auth()).headers["ETag"] == '"3"'


def test_tag_changes_move_the_version_of_their_tasks(client: TestClient) -> None:
    tag = create_tag(client, name="a")
    task = create_task(client, tag_ids=[tag["id"]])
    url = f"/api/alice/tasks/{task['id']}"
    client.patch(f"/api/alice/tags/{tag['id']}", json={"name": "b"}, headers=auth())
    assert client.get(url, headers=auth()).json()["version"] == 2
    other = create_tag(client, name="c")
    assert client.post(f"{url}/tags", json={"tag_ids": [other["id"]]}, headers=auth()).json()["version"] == 3
    assert client.delete(f"{url}/tags/{other['id']}", headers=auth()).json()["version"] == 4
    client.delete(f"/api/alice/tags/{tag['id']}", headers=auth())
    assert client.get(url, headers=auth()).json()["version"] == 5


@pytest.mark.parametrize("value", ['"1"', '"7", "1"', "*", 'W/"1"'])
def test_if_none_match_with_the_current_version_is_304(client: TestClient, value: str) -> None:
    task = create_task(client)
    response = client.get(f"/api/alice/tasks/{task['id']}", headers=with_header("If-None-Match", value))
    assert (response.status_code, response.content, response.headers["ETag"]) == (304, b"", '"1"')


def test_if_none_match_with_an_old_version_is_the_task(client: TestClient) -> None:
    task = create_task(client)
    client.put(f"/api/alice/tasks/{task['id']}", json={"title": "new"}, headers=auth())
    response = client.get(f"/api/alice/tasks/{task['id']}", headers=with_header("If-None-Match", '"1"'))
    assert (response.status_code, response.json()["title"]) == (200, "new")


WRITES: list[tuple[str, str, Any]] = [
    ("PUT", "", {"title": "changed"}), ("PATCH", "", {"title": "changed"}), ("PATCH", "/complete", None),
    ("DELETE", "", None), ("POST", "/tags", "tag"), ("DELETE", "/tags/{tag}", None),
]  # fmt: skip


@pytest.fixture
def tagged(client: TestClient) -> tuple[dict[str, Any], int]:
    tag = create_tag(client, name="t")["id"]
    return create_task(client, tag_ids=[tag]), tag


def write(client: TestClient, task_id: int, tag: int, how: tuple[str, str, Any], if_match: str | None) -> Any:
    method, suffix, body = how
    headers = auth() if if_match is None else with_header("If-Match", if_match)
    body = {"tag_ids": [tag]} if body == "tag" else body
    url = f"/api/alice/tasks/{task_id}{suffix.format(tag=tag)}"
    return client.request(method, url, json=body, headers=headers)


@pytest.mark.parametrize("how", WRITES, ids=[f"{m} {s}" for m, s, _ in WRITES])
@pytest.mark.parametrize("stale", ['"2"', 'W/"1"', '"bogus"', "bogus", '"0", "3"'])
def test_a_write_with_a_stale_if_match_is_412_and_changes_nothing(
    client: TestClient, tagged: tuple[dict[str, Any], int], how: tuple[str, str, Any], stale: str
) -> None:
    task, tag = tagged
    problem = assert_problem(write(client, task["id"], tag, how, stale), 412)
    assert "version 1" in problem["detail"]
    after = client.get(f"/api/alice/tasks/{task['id']}", headers=auth())
    assert (after.json(), after.headers["ETag"]) == (task, '"1"')


@pytest.mark.parametrize("how", WRITES, ids=[f"{m} {s}" for m, s, _ in WRITES])
@pytest.mark.parametrize("current", ['"1"', '"5", "1"', "*"])
def test_a_write_with_a_matching_if_match_proceeds(
    client: TestClient, tagged: tuple[dict[str, Any], int], how: tuple[str, str, Any], current: str
) -> None:
    task, tag = tagged
    response = write(client, task["id"], tag, how, current)
    assert response.status_code in (200, 204), response.text
    if response.status_code == 200:
        assert response.headers["ETag"] == '"2"'


@pytest.mark.parametrize("how", WRITES, ids=[f"{m} {s}" for m, s, _ in WRITES])
def test_a_foreign_or_missing_task_is_404_whatever_if_match_says(
    client: TestClient, tagged: tuple[dict[str, Any], int], how: tuple[str, str, Any]
) -> None:
    _, tag = tagged
    theirs = create_task(client, "bob")
    for task_id in (theirs["id"], theirs["id"] + 1000):
        for if_match in ('"1"', '"9"', "*"):
            assert_problem(write(client, task_id, tag, how, if_match), 404)
    assert client.get(f"/api/bob/tasks/{theirs['id']}", headers=auth("bob")).json() == theirs


def test_tags_have_versions_etags_and_conditional_writes(client: TestClient) -> None:
    tag = client.post("/api/alice/tags", json={"name": "a"}, headers=auth())
    assert tag.headers["ETag"] == '"1"'
    url = tag.headers["Location"]
    assert client.get(url, headers=with_header("If-None-Match", '"1"')).status_code == 304
    assert_problem(client.patch(url, json={"name": "b"}, headers=with_header("If-Match", '"2"')), 412)
    renamed = client.patch(url, json={"name": "b"}, headers=with_header("If-Match", '"1"'))
    assert (renamed.json()["name"], renamed.headers["ETag"]) == ("b", '"2"')
    assert_problem(client.delete(url, headers=with_header("If-Match", '"1"')), 412)
    assert client.delete(url, headers=with_header("If-Match", '"2"')).status_code == 204


@pytest.fixture
def strict_client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(dataclasses.replace(settings, require_if_match=True))) as client:
        yield client


@pytest.mark.parametrize("how", WRITES, ids=[f"{m} {s}" for m, s, _ in WRITES])
def test_require_if_match_makes_a_write_without_it_428(strict_client: TestClient, how: tuple[str, str, Any]) -> None:
    tag = create_tag(strict_client, name="t")["id"]
    task = create_task(strict_client, tag_ids=[tag])  # creates need no If-Match
    assert "If-Match" in assert_problem(write(strict_client, task["id"], tag, how, None), 428)["detail"]
    assert write(strict_client, task["id"], tag, how, '"1"').status_code in (200, 204)


@pytest.mark.parametrize(("name", "method"), [("If-Match", "PUT"), ("If-None-Match", "GET")])
def test_a_non_ascii_condition_is_400(client: TestClient, name: str, method: str) -> None:
    task = create_task(client)
    headers: dict[str, Any] = {**auth(), name: b"\xd7\xf8"}  # raw bytes on the wire, not ASCII
    body = {"title": "x"} if method == "PUT" else None
    response = client.request(method, f"/api/alice/tasks/{task['id']}", json=body, headers=headers)
    problem = assert_problem(response, 400)
    assert problem["errors"] == [{"detail": problem["detail"], "parameter": name}]
    assert client.get(f"/api/alice/tasks/{task['id']}", headers=auth()).json() == task
