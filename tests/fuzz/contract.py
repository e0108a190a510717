"""What the Schemathesis runs (live `make fuzz` and the in-process test) share: one user, tokens, isolation probes.

Schemathesis knows one identity, so on its own it only ever sees the owner's requests and the
anonymous probes of `ignored_auth`. `isolation_is_enforced` adds the other two sides of the contract
to every successful request on a user's path: the same request with another user's token (403), the
same task id under the other user's own path (404: a task of someone else is never revealed) and the
same request without a token (401 with `WWW-Authenticate: Bearer`), each an RFC 9457 problem.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from schemathesis import Case
from schemathesis.auths import AuthContext
from schemathesis.checks import CheckContext
from schemathesis.core.transport import Response

# Pinned by this version of Schemathesis (see pyproject.toml): sends a request derived from a case
# with the run's transport settings and none of its credentials, and records it in the report.
from schemathesis.specs.openapi._auth_retry import send_probe

OWNER = "alice"
OTHER = "mallory"
PROBLEM = "application/problem+json"

TokenFactory = Callable[[str], str]


def pin_user_id(raw_schema: dict[str, Any]) -> None:
    """Generate paths for the token's user only: any other id is a 403 before anything else is looked at,
    so unpinned ids would test nothing but that one branch (which the isolation probes cover)."""
    pinned = {"type": "string", "enum": [OWNER]}
    raw_schema["components"]["schemas"]["UserId"] = pinned
    # The spec Connexion serves has its references resolved, so the parameters carry copies.
    for path_item in raw_schema["paths"].values():
        for item in [path_item, *(op for op in path_item.values() if isinstance(op, dict))]:
            for parameter in item.get("parameters", []) if isinstance(item, dict) else []:
                if parameter.get("in") == "path" and parameter.get("name") == "user_id":
                    parameter["schema"] = pinned


class BearerToken:
    """Schemathesis auth provider: the owner's token on every request it generates."""

    def __init__(self, mint: TokenFactory) -> None:
        self._mint = mint

    def get(self, case: Case, ctx: AuthContext) -> str:
        return self._mint(OWNER)

    def set(self, case: Case, data: str, ctx: AuthContext) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


# (method, path under /api, JSON body) → (status, JSON): how the rules below ask the API under test.
Fetch = Callable[[str, str, Any], tuple[int, Any]]


def respect_prose_constraints(case: Case, mint: TokenFactory, fetch: Fetch | None = None) -> None:
    """Rules the contract states in prose because OpenAPI 3.0 cannot state them (which parameters exclude
    each other, that a tag id names an existing tag), applied to positive cases only: Schemathesis's
    `positive_data_acceptance` then checks what the API really promises. Negative cases stay as generated.
    - `q` and `search`, `sort` and `sort_by` exclude each other; `order` applies to one key without `-`;
    - `tag_ids` in a body, and a `{tag_id}` in the path, must be the user's tags: a generated id is
      replaced by one the user has; a feed `cursor` must be one the feed gave, and a list `cursor` one the
      list gave for the same filters and sort (a generated one is dropped, which also keeps it from `offset`);
    - `If-Match` must name the current version (a generated one is made `*`, which does), and an
      `Idempotency-Key` is used once per request (a generated one gets a unique suffix)."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    query = case.query or {}
    for name, alias in (("q", "search"), ("sort", "sort_by")):
        if name in query and alias in query:
            del query[alias]
    keys = str(query.get("sort", query.get("sort_by", "")))
    if "order" in query and ("-" in keys or "," in keys):
        del query["order"]
    if isinstance(case.body, dict) and case.body.get("tag_ids"):
        case.body["tag_ids"] = [existing_tag_id(fetch or through_schemathesis(case, mint))]
    operation_id = case.operation.definition.raw.get("operationId")
    if operation_id == "listTasks":
        query.pop("cursor", None)  # only one a list gave for the same filters and sort is valid (else 400)
    if operation_id == "listChanges" and "cursor" in query:
        query["cursor"] = current_cursor(fetch or through_schemathesis(case, mint))  # one the feed gave
    if case.path_parameters and "tag_id" in case.path_parameters:
        case.path_parameters["tag_id"] = existing_tag_id(fetch or through_schemathesis(case, mint))  # → 200
    headers = case.headers if case.headers is not None else {}
    if "If-Match" in headers:
        headers["If-Match"] = "*"
    if "Idempotency-Key" in headers:
        headers["Idempotency-Key"] = uuid.uuid4().hex


def through_schemathesis(case: Case, mint: TokenFactory) -> Fetch:
    """Requests made as the case's own are (the in-process app). The live CLI's coverage phase alters the
    auth of cases it makes, so the live hooks pass a plain HTTP client instead (tests/fuzz/hooks.py)."""
    schema = case.operation.schema
    operations = {("GET", "/alice/changes"): "listChanges", ("GET", "/alice/tags"): "listTags"}
    operations[("POST", "/alice/tags")] = "createTag"

    def fetch(method: str, path: str, body: Any) -> tuple[int, Any]:
        operation = schema.find_operation_by_id(operations[(method, path)])
        kwargs: dict[str, Any] = {"body": body, "media_type": "application/json"} if body is not None else {}
        headers = {"Authorization": f"Bearer {mint(OWNER)}"}
        made = schema.make_case(operation=operation, path_parameters={"user_id": OWNER}, headers=headers, **kwargs)
        response = made.call()
        return response.status_code, response.json()

    return fetch


def current_cursor(fetch: Fetch) -> str:
    """A cursor the owner's change feed gives, through the API under test."""
    return str(fetch("GET", f"/{OWNER}/changes", None)[1]["next_cursor"])


def existing_tag_id(fetch: Fetch) -> int:
    """The id of one of the owner's tags, made if there is none, through the API under test."""
    status, listed = fetch("GET", f"/{OWNER}/tags", None)
    if status == 200 and listed:
        return int(listed[0]["id"])
    return int(fetch("POST", f"/{OWNER}/tags", {"name": "fuzzed"})[1]["id"])


Probe = tuple[str, str | None, dict[str, Any], int]  # what it is, token (None: none), path parameters, status


def probes_for(path: dict[str, Any], mint: TokenFactory) -> list[Probe]:
    probes: list[Probe] = [
        ("another user's token on the owner's path", mint(OTHER), path, 403),
        ("no token", None, path, 401),
    ]
    if "id" in path or "tag_id" in path:
        their_path = {**path, "user_id": OTHER}
        probes.append(("another user's token on their own path, same task or tag id", mint(OTHER), their_path, 404))
    return probes


def what_is_wrong(answer: Response, expected: int) -> list[str]:
    """How the answer differs from an RFC 9457 problem with this status (and the 401's challenge)."""
    wrong = []
    if answer.status_code != expected:
        wrong.append(f"status {answer.status_code}, expected {expected}")
    content_type = answer.headers.get("content-type", [""])[0]
    if content_type != PROBLEM:
        wrong.append(f"Content-Type {content_type!r}, expected {PROBLEM}")
    if expected == 401 and not answer.headers.get("www-authenticate", [""])[0].startswith("Bearer"):
        wrong.append("no `WWW-Authenticate: Bearer`")
    return wrong


def probe_of(case: Case, token: str | None, path_parameters: dict[str, Any]) -> Case:
    """The case's request with another token (None: none) and path, as a case of its own. Not
    `case.derive()`: a derived case shares the original's metadata, which Schemathesis re-validates
    when the path changes, so another user's id made the original case "negative" too, and the run's
    warnings then saw no valid request of the operation succeed (CI failed on "Authentication failed:
    2 operations returned only 401/403 responses" with every such request answered 2xx)."""
    headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    body = case.body.copy() if isinstance(case.body, (list, dict)) else case.body
    return case.operation.Case(
        method=case.method,
        path_parameters=path_parameters,
        headers=headers,
        cookies=dict(case.cookies or {}),
        query=dict(case.query or {}),
        body=body,
        media_type=case.media_type,
    )


def make_isolation_check(mint: TokenFactory) -> Callable[[CheckContext, Response, Case], bool | None]:
    def isolation_is_enforced(ctx: CheckContext, response: Response, case: Case) -> bool | None:
        path = dict(case.path_parameters or {})
        if path.get("user_id") != OWNER or not 200 <= response.status_code < 300:
            return None  # only a request the owner may make says anything about who else may make it
        for label, token, path_parameters, expected in probes_for(path, mint):
            probe = probe_of(case, token, path_parameters)
            wrong = what_is_wrong(send_probe(ctx, case, probe), expected)
            if wrong:
                raise AssertionError(f"{case.method} {probe.formatted_path} with {label}: {'; '.join(wrong)}")
        return True

    return isolation_is_enforced
