"""The bench's figures that grow with a user's tasks beyond the list's first page: a cursor page 1,000 deep
against the first, and `q` on a 100-task against a 100,000-task user, for a word in one task of each and
for three letters in ~1 % of the tasks (no task of the 100-task user has them: an empty page against a full
one, so that figure shows how a common term's cost grows with its matches, not the index)."""

from __future__ import annotations

import hashlib
import re
import urllib.request
from pathlib import Path

from tests.bench import seed

PAGE = 50
DEEP_PAGE = 1000
# In ~1 % of the growth users' tasks: three hex digits somewhere in a title's or description's md5 part.
TERM = "abc"
# The task of each growth user whose title holds the word: one of its tasks, whatever the user's size.
WORD_TASK = 50
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


def word_of(user: str) -> str:
    """The 12 hex digits in the title of the user's task WORD_TASK (seed.TASKS_SQL: md5(user || k))."""
    return hashlib.md5(f"{user}{WORD_TASK}".encode()).hexdigest()[:12]  # noqa: S324 (the seed's, not security)


def request_lines(base: str, tokens: dict[str, str]) -> dict[str, list[tuple[str, str, str, bytes]]]:
    big, small = seed.growth_user(seed.GROWTH_SIZES[-1]), seed.growth_user(seed.GROWTH_SIZES[0])
    first, deep = (cursor_url(base, big, tokens[big], page) for page in (1, DEEP_PAGE))
    return {
        "cursor_page_1": [("GET", first, big, b"")],
        f"cursor_page_{DEEP_PAGE}": [("GET", deep, big, b"")],
        "q_word_100": [("GET", f"/api/{small}/tasks?q={word_of(small)}", small, b"")],
        "q_word_100000": [("GET", f"/api/{big}/tasks?q={word_of(big)}", big, b"")],
        "q_100": [("GET", f"/api/{small}/tasks?q={TERM}", small, b"")],
        "q_100000": [("GET", f"/api/{big}/tasks?q={TERM}", big, b"")],
    }


FIGURES = ("cursor_page_1", f"cursor_page_{DEEP_PAGE}", "q_word_100", "q_word_100000", "q_100", "q_100000")
RATIOS = {  # name: (numerator, denominator, target)
    f"cursor page {DEEP_PAGE} / page 1 (100,000 tasks)": (f"cursor_page_{DEEP_PAGE}", "cursor_page_1", 1.2),
    "q (a word in one task) on 100,000 / on 100 tasks": ("q_word_100000", "q_word_100", 2.0),
    f"q ({TERM!r}: no task of 100, 789 of 100,000) on 100,000 / on 100 tasks": ("q_100000", "q_100", 2.0),
}


def write_files(folder: Path, lines: dict[str, list[tuple[str, str, str, bytes]]], tokens: dict[str, str]) -> None:
    for name, rows in lines.items():
        path = folder / f"{name}.tsv"
        path.write_bytes(b"".join(f"{m}\t{p}\t{tokens[u]}\t".encode() + b + b"\n" for m, p, u, b in rows))
