"""Bad input: always a 4xx problem+json, never a 5xx, and nothing changes."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine, text
from starlette.requests import ClientDisconnect
from starlette.testclient import TestClient

from handlers.core.problems import AllowedMethods, make_error_handlers
from handlers.inputs import WHITE_SPACE
from handlers.runtime.validation import ecma_regex
from tests.support.databases import ROOT
from tests.support.helpers import assert_problem, auth, create_task

BAD_BODIES: list[tuple[str, Any]] = [
    ("unknown property", {"title": "x", "owner": "bob"}),
    ("title missing", {"description": "x"}),
    ("title null", {"title": None}),
    ("title empty", {"title": ""}),
    ("title blank", {"title": " \t\n "}),
    ("title too long", {"title": "x" * 201}),
    ("title not a string", {"title": 5}),
    ("title with NUL", {"title": "a\x00b"}),
    ("description too long", {"title": "x", "description": "d" * 2001}),
    ("description with NUL", {"title": "x", "description": "\x00"}),
    ("description wrong type", {"title": "x", "description": ["d"]}),
    ("completed not a bool", {"title": "x", "completed": "yes"}),
    ("completed as int", {"title": "x", "completed": 1}),
    ("priority unknown", {"title": "x", "priority": "critical"}),
    ("priority wrong case", {"title": "x", "priority": "HIGH"}),
    ("due_date not a date", {"title": "x", "due_date": "tomorrow"}),
    ("due_date without offset", {"title": "x", "due_date": "2026-01-01T00:00:00"}),
    ("due_date impossible", {"title": "x", "due_date": "2026-02-30T00:00:00Z"}),
    ("due_date number", {"title": "x", "due_date": 1767225600}),
    ("array body", [{"title": "x"}]),
    ("string body", "x"),
    ("number body", 5),
]
RAW_BODIES: list[tuple[str, bytes]] = [
    ("broken JSON", b'{"title": "x"'),
    ("trailing garbage", b'{"title": "x"} x'),
    ("invalid UTF-8", b'{"title": "\xff\xfe"}'),
    ("lone surrogate", b'{"title": "\\ud800"}'),
    ("NaN", b'{"title": "x", "completed": NaN}'),
    ("deep nesting", b"[" * 60_000),  # under the size limit, far over the depth limit
    ("JSON null", b"null"),
    ("empty body", b""),
]


def count_tasks(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM tasks")).scalar_one())


@pytest.mark.parametrize(("case", "body"), BAD_BODIES, ids=[c for c, _ in BAD_BODIES])
def test_bad_create_bodies_are_400(client: TestClient, engine: Engine, case: str, body: Any) -> None:
    assert_problem(client.post("/api/alice/tasks", json=body, headers=auth()), 400)
    assert count_tasks(engine) == 0


@pytest.mark.parametrize(("case", "raw"), RAW_BODIES, ids=[c for c, _ in RAW_BODIES])
def test_malformed_create_bodies_are_400(client: TestClient, engine: Engine, case: str, raw: bytes) -> None:
    headers = {**auth(), "Content-Type": "application/json"}
    assert_problem(client.post("/api/alice/tasks", content=raw, headers=headers), 400)
    assert count_tasks(engine) == 0


BAD_UPDATES: list[tuple[str, Any]] = [
    *[(c, b) for c, b in BAD_BODIES if c not in ("title missing",)],
    ("empty object", {}),
]


@pytest.mark.parametrize(("case", "body"), BAD_UPDATES, ids=[c for c, _ in BAD_UPDATES])
def test_bad_update_bodies_are_400_and_change_nothing(client: TestClient, case: str, body: Any) -> None:
    task = create_task(client, title="Keep me", description="as is")
    assert_problem(client.put(f"/api/alice/tasks/{task['id']}", json=body, headers=auth()), 400)
    assert client.get(f"/api/alice/tasks/{task['id']}", headers=auth()).json() == task


@pytest.mark.parametrize(
    "body", [{"completed": None}, {"completed": "true"}, {"completed": True, "x": 1}, [True], "null"]
)
def test_bad_completion_bodies_are_400(client: TestClient, body: Any) -> None:
    task = create_task(client)
    response = client.patch(f"/api/alice/tasks/{task['id']}/complete", json=body, headers=auth())
    assert_problem(response, 400)
    assert client.get(f"/api/alice/tasks/{task['id']}", headers=auth()).json() == task


@pytest.mark.parametrize(
    "task_id",
    ["abc", "0", "-1", "1.5", "1e3", "9223372036854775808", "99999999999999999999999", "%00", "true"],
)
@pytest.mark.parametrize(("method", "suffix"), [("GET", ""), ("PUT", ""), ("DELETE", ""), ("PATCH", "/complete")])
def test_bad_task_ids_are_400(client: TestClient, method: str, suffix: str, task_id: str) -> None:
    body = {"title": "x"} if method == "PUT" else None
    response = client.request(method, f"/api/alice/tasks/{task_id}{suffix}", json=body, headers=auth())
    assert_problem(response, 400)


def test_largest_id_is_a_plain_404(client: TestClient) -> None:
    assert_problem(client.get("/api/alice/tasks/9223372036854775807", headers=auth()), 404)


@pytest.mark.parametrize(
    "query",
    [
        "limit=0", "limit=501", "limit=-1", "limit=abc", "offset=-1", "offset=1.5",
        "offset=9223372036854775808", "status=done", "priority=critical", "sort=name", "sort=-", "sort=title,",
        "sort=TITLE", "sort=title%0A", "sort=-created%0A", "status=all%0A", "q=" + "x" * 201, "q=%00",
    ],
)  # fmt: skip
def test_bad_list_queries_are_400(client: TestClient, query: str) -> None:
    assert_problem(client.get(f"/api/alice/tasks?{query}", headers=auth()), 400)


def test_huge_offset_is_an_empty_page(client: TestClient) -> None:
    create_task(client)
    response = client.get("/api/alice/tasks?offset=9223372036854775807", headers=auth())
    assert response.status_code == 200 and response.json() == []
    assert response.headers["X-Total-Count"] == "1"


def test_non_json_body_is_415(client: TestClient, engine: Engine) -> None:
    headers = {**auth(), "Content-Type": "text/plain"}
    assert_problem(client.post("/api/alice/tasks", content=b"title", headers=headers), 415)
    form = client.post("/api/alice/tasks", data={"title": "x"}, headers=auth())
    assert_problem(form, 415)
    assert count_tasks(engine) == 0


def test_unknown_route_is_404(client: TestClient) -> None:
    assert_problem(client.get("/api/alice/notes", headers=auth()), 404)
    assert_problem(client.get("/nothing"), 404)


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", "/api/alice/tasks", "GET, HEAD, POST"),
        ("PUT", "/api/alice/tasks", "GET, HEAD, POST"),
        ("POST", "/api/alice/tasks/1", "DELETE, GET, HEAD, PATCH, PUT"),
        ("GET", "/api/alice/tasks/1/tags", "POST"),
        ("PUT", "/api/alice/tags", "GET, HEAD, POST"),
        ("POST", "/api/alice/tags/1", "DELETE, GET, HEAD, PATCH, PUT"),
        ("GET", "/api/alice/tasks/1/complete", "PATCH"),
        ("POST", "/api/health", "GET, HEAD"),
    ],
)
def test_wrong_method_is_405_with_full_allow(client: TestClient, method: str, path: str, allow: str) -> None:
    response = client.request(method, path, headers=auth())
    assert_problem(response, 405)
    assert response.headers["Allow"] == allow


def spec_schema(name: str) -> dict[str, Any]:
    spec = yaml.safe_load((ROOT / "openapi.yaml").read_text())
    schema: dict[str, Any] = spec["components"]["schemas"][name]
    return schema


def title_pattern() -> re.Pattern[str]:
    return re.compile(spec_schema("Title")["pattern"])


# ECMAScript's \s (WhiteSpace and LineTerminator), which client-side validators of the spec use.
ECMA_WHITE_SPACE = "\t\n\v\f\r \xa0\u1680\u2028\u2029\u202f\u205f\u3000\ufeff" + "".join(
    map(chr, range(0x2000, 0x200B))
)


def test_spec_and_code_agree_on_white_space() -> None:
    pattern = title_pattern()
    for code in range(1, 0x10000):
        char = chr(code)
        if 0xD800 <= code <= 0xDFFF:
            continue
        assert bool(pattern.search(char)) == (char not in WHITE_SPACE), hex(code)
        assert not (char.isspace() or char in ECMA_WHITE_SPACE) or char in WHITE_SPACE, hex(code)


@pytest.mark.parametrize("blank", ["\x1f", "\x85", "\ufeff", "\u3000", "\t \n", "\u2028\xa0"])
def test_titles_of_any_white_space_are_blank(client: TestClient, blank: str) -> None:
    assert_problem(client.post("/api/alice/tasks", json={"title": blank}, headers=auth()), 400)


def test_every_kind_of_white_space_is_stripped(client: TestClient) -> None:
    assert create_task(client, title="\ufeff\x1c Buy milk\u3000\x85")["title"] == "Buy milk"


@pytest.mark.parametrize("query", ["stauts=pending", "]q=x", "q=x&extra=1"])
def test_unknown_query_parameters_are_400(client: TestClient, query: str) -> None:
    assert_problem(client.get(f"/api/alice/tasks?{query}", headers=auth()), 400)


def test_spec_and_token_check_agree_on_user_ids() -> None:
    from handlers.auth.verifier import USER_ID

    schema = spec_schema("UserId")
    for code in range(1, 0x10000):
        if not 0xD800 <= code <= 0xDFFF:
            char = chr(code)
            for user_id in (f"a{char}b", f"ab{char}"):
                assert bool(ecma_regex(schema["pattern"]).search(user_id)) == bool(USER_ID.fullmatch(user_id)), hex(
                    code
                )
    assert schema["maxLength"] == 255
    assert USER_ID.fullmatch("x" * 255) and not USER_ID.fullmatch("x" * 256)


@pytest.mark.parametrize("sub", ["a\nb", "alice\n", "a/b", "\x7f", "x" * 256])
def test_tokens_for_unroutable_user_ids_are_401(client: TestClient, sub: str) -> None:
    assert_problem(client.get("/api/alice/tasks", headers=auth(sub)), 401)


def test_unroutable_paths_are_404_not_redirects(client: TestClient) -> None:
    assert_problem(client.get("/api/alice/tasks/", headers=auth()), 404)
    assert_problem(client.get("/api/a%0Ab/tasks", headers=auth()), 404)
    assert_problem(client.get("/api/alice/tasks/1/complete/", headers=auth()), 404)


def test_head_is_get_without_a_body(client: TestClient) -> None:
    create_task(client)
    response = client.head("/api/alice/tasks", headers=auth())
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["X-Total-Count"] == "1"
    assert client.head("/api/alice/tasks").status_code == 401


def test_problem_details_stay_short(client: TestClient) -> None:
    response = client.post("/api/alice/tasks", json={"title": "x", "description": "d" * 60_000}, headers=auth())
    problem = assert_problem(response, 400)
    assert len(problem["detail"]) <= 301
    assert len(response.content) < 1000


def test_unexpected_errors_are_generic_problems(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from models import queries

    def broken(*_args: object) -> None:
        raise RuntimeError("SELECT password FROM secrets WHERE token = 'abc'")

    monkeypatch.setattr(queries, "get_task", broken)
    response = client.get("/api/alice/tasks/1", headers=auth())
    problem = assert_problem(response, 500)
    assert problem["detail"] == "An unexpected error occurred; it has been logged"
    for leak in ("SELECT", "password", "RuntimeError", "Traceback", "abc"):
        assert leak not in response.text


@pytest.mark.parametrize(
    "content_type",
    ["Application/Json", "APPLICATION/JSON", "application/JSON; charset=utf-8", "application/json; Charset=UTF-8"],
)
def test_media_types_are_case_insensitive(client: TestClient, content_type: str) -> None:
    """RFC 9110 §8.3.1: a media type's type, subtype and parameter names are case-insensitive. Connexion
    looked the body validator up by the exact spelling, skipped validation and the handler failed (500)."""
    headers = {**auth(), "Content-Type": content_type}
    response = client.post("/api/alice/tasks", content=b'{"title": "x"}', headers=headers)
    assert response.status_code == 201, response.text
    task_id = response.json()["id"]
    # ... and the body is validated under that spelling too.
    assert_problem(client.post("/api/alice/tasks", content=b'{"title": 5}', headers=headers), 400)
    assert_problem(client.put(f"/api/alice/tasks/{task_id}", content=b'{"owner": "bob"}', headers=headers), 400)
    response = client.patch(f"/api/alice/tasks/{task_id}/complete", content=b'{"completed": true}', headers=headers)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "content_type",
    ["application/json; charset=latin-1", "application/json; charset=", "application/json;;", "appli cation/json", "/"],
)
def test_malformed_or_non_utf8_media_types_are_415(client: TestClient, engine: Engine, content_type: str) -> None:
    headers = {**auth(), "Content-Type": content_type}
    assert_problem(client.post("/api/alice/tasks", content=b'{"title": "x"}', headers=headers), 415)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM tasks")).scalar() == 0


# httpx resolves literal `.` and `..` segments before sending; tests/runtime/test_connections.py sends one raw.
@pytest.mark.parametrize("segment", ["%2E", "%2E%2E", "%2e%2E", ".%2e"])
def test_dot_segment_user_ids_are_404(client: TestClient, engine: Engine, segment: str) -> None:
    """Every URL resolver removes `.` and `..` segments (RFC 3986 §5.2.4), so a task under one could
    never be reached at its `Location`: such a path is no route, whoever asks."""
    for user in (".", "..", "alice"):
        assert_problem(client.post(f"/api/{segment}/tasks", json={"title": "x"}, headers=auth(user)), 404)
        assert_problem(client.get(f"/api/{segment}/tasks", headers=auth(user)), 404)
    assert_problem(client.get(f"/api/alice/tasks/{segment}", headers=auth()), 404)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM tasks")).scalar() == 0


@pytest.mark.parametrize("sub", [".", ".."])
def test_tokens_for_dot_segment_user_ids_are_401(client: TestClient, sub: str) -> None:
    assert_problem(client.get("/api/alice/tasks", headers=auth(sub)), 401)


def test_user_ids_with_dots_that_are_not_dot_segments_work(client: TestClient) -> None:
    from handlers.auth.verifier import USER_ID

    for user in ("...", ".alice", "a.b", "alice."):
        assert USER_ID.fullmatch(user)
        assert ecma_regex(spec_schema("UserId")["pattern"]).search(user)
        create_task(client, user)
    for user in (".", ".."):
        assert not USER_ID.fullmatch(user)
        assert not ecma_regex(spec_schema("UserId")["pattern"]).search(user)


def test_a_client_gone_before_its_body_was_read_is_no_server_error(caplog: pytest.LogCaptureFixture) -> None:
    """Starlette raises ClientDisconnect when a handler reads the body of a client already gone (seen for
    the requests in flight when a wrk run stops): a 4xx logged at INFO, not a 500 "unhandled error"."""
    on_unexpected = dict(make_error_handlers(AllowedMethods("/api", {})))[Exception]
    with caplog.at_level(logging.INFO):
        response = asyncio.run(on_unexpected(None, ClientDisconnect()))  # type: ignore[operator]
    assert response.status_code == 400
    assert "client disconnected" in caplog.text and "unhandled error" not in caplog.text
