"""Conditional requests (RFC 9110 section 13) on tasks and tags: the ETag is the representation's
version, `If-Match` makes a write a compare-and-set inside its statement, `If-None-Match` makes a GET a
304 when the client's copy is current."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, NoReturn

from connexion.context import scope as current_scope

from handlers.core.context import current
from handlers.core.problems import BadRequest, NotFound, PreconditionFailed, PreconditionRequired
from models.queries import Versions

ENTITY_TAG = re.compile(r'\s*(W/)?"([^"]*)"\s*(?:,|$)')


def etag(version: int) -> str:
    return f'"{version}"'


VISIBLE_ASCII = re.compile(r"[\x20-\x7e]{1,1000}")  # the spec's schema of these headers


def header(name: bytes) -> str | None:
    """A request header, its repeated lines joined by commas (RFC 9110 section 5.3). Checked here too:
    Connexion leaves a header whose bytes are not ASCII unvalidated (found by the live fuzz)."""
    values = [value.decode("latin-1") for key, value in current_scope["headers"] if key == name]
    if not values:
        return None
    joined = ", ".join(values)
    if not VISIBLE_ASCII.fullmatch(joined):
        raise BadRequest(
            f"{name.decode().title()} must be 1 to 1000 visible ASCII characters", parameter=name.decode().title()
        )
    return joined


def entity_tags(value: str) -> list[tuple[bool, str]]:
    """(weak, opaque value) of each entity tag in a list; what is not an entity tag is skipped."""
    return [(bool(m.group(1)), m.group(2)) for m in ENTITY_TAG.finditer(value)]


def write_versions() -> Versions:
    """The versions a write may change: None (any) without If-Match or with `*`, else those of its
    strong entity tags (weak ones never match a write). Without If-Match and REQUIRE_IF_MATCH: 428."""
    value = header(b"if-match")
    if value is None:
        if current().settings.require_if_match:
            raise PreconditionRequired("This write needs an If-Match header with the ETag you last saw")
        return None
    if value.strip() == "*":
        return None
    return tuple(int(tag) for weak, tag in entity_tags(value) if not weak and tag.isdecimal() and len(tag) < 19)


def is_current(version: int) -> bool:
    """If-None-Match (weak comparison): does the client hold this version already?"""
    value = header(b"if-none-match")
    if value is None:
        return False
    return value.strip() == "*" or any(tag == str(version) for _, tag in entity_tags(value))


def refuse_write(versions: Versions, existing: Callable[[], dict[str, Any] | None], what: str) -> NoReturn:
    """A write that changed nothing: 404 when there is no such item (whatever If-Match said), else it
    was If-Match that failed: 412 with the current ETag."""
    item = existing() if versions is not None else None
    if item is None:
        raise NotFound(f"{what} not found")
    raise PreconditionFailed(
        f"{what} has changed: it is at version {item['version']}; fetch it and try again",
        headers={"ETag": etag(item["version"])},
    )
