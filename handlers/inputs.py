"""Input rules the schema cannot express: trimmed titles, RFC 3339 parsing into UTC, safe claims."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from handlers.auth.verifier import Claims
from handlers.core.problems import BadRequest

# White space as the spec's Title pattern spells it: the union of ECMAScript's and Python's `\s`, so
# the validator, client-side validators and this code agree on what a blank title is.
WHITE_SPACE = (
    "\t\n\v\f\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
    "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)

# RFC 3339 section 5.6, as the spec's `format: date-time` checker accepts it (`T`/`Z` in any case).
RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$"
)


def task_fields(body: dict[str, Any]) -> dict[str, Any]:
    """The body's task fields, cleaned: `title` trimmed (blank is 400), `due_date` parsed to UTC."""
    fields = dict(body)
    if "title" in fields:
        fields["title"] = fields["title"].strip(WHITE_SPACE)
        if not fields["title"]:
            raise BadRequest("'title' must not be blank")
    if fields.get("due_date") is not None:
        fields["due_date"] = parse_datetime(fields["due_date"], "due_date")
    return fields


def parse_datetime(value: str, name: str) -> datetime:
    match = RFC3339.fullmatch(value)
    if not match:
        raise BadRequest(f"'{name}' must be an RFC 3339 date-time with an offset, e.g. 2026-12-01T17:00:00Z")
    year, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m = match.groups()
    try:
        offset = timedelta(hours=int(off_h), minutes=int(off_m)) if not zulu else timedelta(0)
        zone = timezone(-offset if sign == "-" else offset)
        micro = int((fraction or "0")[:6].ljust(6, "0"))
        parsed = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micro, zone)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        raise BadRequest(f"'{name}' is not a valid date-time") from None


def claim_text(claims: Claims, name: str, max_length: int = 255) -> str | None:
    """A profile claim fit to store, or None: tokens are signed, but their contents are not ours."""
    value = claims.get(name)
    if not isinstance(value, str) or not value or len(value) > max_length or "\x00" in value:
        return None
    try:
        value.encode()
    except UnicodeEncodeError:
        return None
    return value
