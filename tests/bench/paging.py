"""The bench's figures that grow with a user's tasks beyond the list's first page: a cursor page 1,000 deep
against the first, `q` on a 100-task against a 100,000-task user, and the change feed's first page."""

from __future__ import annotations

import re
import urllib.request
from pathlib import Path

from tests.bench import seed

PAGE = 50
DEEP_PAGE = 1000
# In ~1 % of the growth users' tasks: three hex digits somewhere in a title's or description's md5 part.
TERM = "abc"
LINK_NEXT = re.compile(r"<([^>]+)>; rel=\"next\"")


def cursor_url(base: str, user: str, token: str, page: int) -> str:
    """The URL of the `page`-th page (1-based) by cursor, found by following `Link: rel="next"` as a
    client does (a cursor is opaque: the bench cannot make one)."""
    url = f"/api/{user}/tasks?limit={PAGE}"
    for _ in range(page - 1):
        request = urllib.request.Request(base + url, headers={"Authorization": f"Bearer {token}"})  # noqa: S310
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback URL we built)
            found = LINK_NEXT.search(response.headers["Link"] or "")
        if found is None:
            raise RuntimeError(f"{user} has fewer than {page} pages")
        url = found.group(1)
    return url


def request_lines(base: str, tokens: dict[str, str]) -> dict[str, list[tuple[str, str, str, bytes]]]:
    big, small = seed.growth_user(seed.GROWTH_SIZES[-1]), seed.growth_user(seed.GROWTH_SIZES[0])
    first, deep = (cursor_url(base, big, tokens[big], page) for page in (1, DEEP_PAGE))
    return {
        "cursor_page_1": [("GET", first, big, b"")],
        f"cursor_page_{DEEP_PAGE}": [("GET", deep, big, b"")],
        "q_100": [("GET", f"/api/{small}/tasks?q={TERM}", small, b"")],
        "q_100000": [("GET", f"/api/{big}/tasks?q={TERM}", big, b"")],
    }


FIGURES = ("cursor_page_1", f"cursor_page_{DEEP_PAGE}", "q_100", "q_100000")
RATIOS = {  # name: (numerator, denominator, target)
    f"cursor page {DEEP_PAGE} / page 1 (100,000 tasks)": (f"cursor_page_{DEEP_PAGE}", "cursor_page_1", 1.2),
    "q on 100,000 / q on 100 tasks": ("q_100000", "q_100", 2.0),
}


def write_files(folder: Path, lines: dict[str, list[tuple[str, str, str, bytes]]], tokens: dict[str, str]) -> None:
    for name, rows in lines.items():
        path = folder / f"{name}.tsv"
        path.write_bytes(b"".join(f"{m}\t{p}\t{tokens[u]}\t".encode() + b + b"\n" for m, p, u, b in rows))
