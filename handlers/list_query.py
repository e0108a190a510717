"""The list's query parameters as frontends spell them, read into one request: `search` for `q`,
`status=incomplete`, `sort_by` and `order`, `created_at` for `created`, comma lists of tags and tag ids,
dates for date-times, and empty values for absent ones."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from handlers.core.problems import BadRequest
from handlers.inputs import parse_moment
from models.list_filters import Filters

SORT_ALIASES = {"created_at": "created", "updated_at": "updated"}
DEFAULT_SORT = "-created"
MOMENTS = ("due_before", "due_after", "reminder_before")
# The spec's list parameters (Connexion also passes `user` and `token_info` to a handler with **kwargs).
PARAMETERS = (
    "status", "priority", "q", "search", "category", "tag", "tag_ids", "overdue", *MOMENTS, "sort", "sort_by",
    "order", "limit", "offset", "cursor",
)  # fmt: skip


@dataclass(frozen=True)
class ListRequest:
    filters: Filters
    sort_keys: tuple[str, ...]
    limit: int
    offset: int
    link_params: dict[str, Any]  # what `Link` URLs repeat: the request's own parameters, as given
    cursor: str | None = None
    by_offset: bool = False  # `offset` given: offset links, as before cursors; otherwise cursor links


def read(query: dict[str, Any]) -> ListRequest:
    """`query`: the parameters Connexion validated against the spec (absent ones absent or defaulted)."""
    given = {name: query[name] for name in PARAMETERS if query.get(name) not in ("", None)}
    cursor, by_offset = given.pop("cursor", None), "offset" in given
    if cursor is not None and by_offset:
        raise BadRequest("Give cursor or offset, not both", parameter="cursor")
    limit, offset = int(given.pop("limit", 100)), int(given.pop("offset", 0))
    link_params = dict(given)
    text = one_of(given, "q", "search")
    status = {"incomplete": "pending"}.get(given.get("status", "all"), given.get("status", "all"))
    filters = Filters(
        status=status,
        priority=given.get("priority"),
        q=text,
        category_key=given["category"].strip().casefold() if "category" in given else None,
        tag_keys=tuple(sorted({n.strip().casefold() for n in given.get("tag", "").split(",") if n.strip()})),
        tag_ids=tuple(sorted({int(i) for value in given.get("tag_ids", []) for i in str(value).split(",")})),
        overdue=given.get("overdue"),
        **{name: parse_moment(given[name], name, parameter=True) if name in given else None for name in MOMENTS},
    )
    return ListRequest(filters, sort_keys(given), limit, offset, link_params, cursor, by_offset)


def one_of(given: dict[str, Any], name: str, alias: str) -> Any:
    if name in given and alias in given:
        raise BadRequest(f"Give {name} or {alias}, not both", parameter=alias)
    return given.get(name, given.get(alias))


def sort_keys(given: dict[str, Any]) -> tuple[str, ...]:
    sort = one_of(given, "sort", "sort_by")
    order = given.get("order")
    if sort is None:
        sort = DEFAULT_SORT if order is None else "created"
    keys = [
        ("-" if key.startswith("-") else "") + SORT_ALIASES.get(key.lstrip("-"), key.lstrip("-"))
        for key in sort.split(",")
    ]
    if order is not None:
        if len(keys) > 1 or keys[0].startswith("-"):
            raise BadRequest("order sets the direction of a single sort key given without -", parameter="order")
        keys = ["-" + keys[0]] if order == "desc" else keys
    return tuple(dict.fromkeys(keys))  # a repeated key adds nothing
