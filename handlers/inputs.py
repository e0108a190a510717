"""Input rules the schema cannot express: trimmed text, dates and date-times parsed into UTC, recurrence
rules normalised, safe claims."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from handlers.auth.verifier import Claims
from handlers.core.problems import BadRequest
from models import recurrence

# White space as the spec's Title pattern spells it: the union of ECMAScript's and Python's `\s`, so
# the validator, client-side validators and this code agree on what a blank title is.
WHITE_SPACE = (
    "\t\n\v\f\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
    "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)

# RFC 3339 section 5.6, as the spec's `format: date-time` checker accepts it (`T`/`Z` in any case), or a
# full date alone (`format: date`), taken as 00:00 UTC of that day.
RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2})))?$"
)
MOMENTS = ("due_date", "reminder_at")
TRIMMED = ("title", "category")


def task_fields(body: dict[str, Any]) -> dict[str, Any]:
    """The body's task fields, cleaned: text trimmed (blank is 400), moments in UTC, the rule normalised,
    tag names trimmed and tag ids without repeats."""
    fields = dict(body)
    for name in TRIMMED:
        if fields.get(name) is not None:
            fields[name] = not_blank(fields[name], name)
    for name in MOMENTS:
        if fields.get(name) is not None:
            fields[name] = parse_moment(fields[name], name)
    if fields.get("recurrence_rule") is not None:
        try:
            fields["recurrence_rule"] = recurrence.normalize(fields["recurrence_rule"])
        except recurrence.InvalidRule:
            raise BadRequest(
                "recurrence_rule is not a rule this API accepts (see the RecurrenceRule schema)",
                pointer="#/recurrence_rule",
            ) from None
    if "tags" in fields:
        fields["tags"] = list(dict.fromkeys(not_blank(name, "tags") for name in fields["tags"]))
    if "tag_ids" in fields:
        fields["tag_ids"] = list(dict.fromkeys(fields["tag_ids"]))
    if fields.get("client_id") is not None:
        fields["client_id"] = fields["client_id"].lower()  # one UUID, however it is spelt
    return fields


def not_blank(text: str, name: str) -> str:
    trimmed = text.strip(WHITE_SPACE)
    if not trimmed:
        raise BadRequest(f"{name} must not be blank", pointer=f"#/{name}")
    return trimmed


def parse_moment(value: str, name: str, *, parameter: bool = False) -> datetime:
    """A date-time with an offset, or a date (00:00 UTC of it), as an aware UTC datetime; `name` is a
    query parameter's when `parameter`, else a body field's."""
    where = {"parameter": name} if parameter else {"pointer": f"#/{name}"}
    match = RFC3339.fullmatch(value)
    if not match:
        raise BadRequest(f"{name} must be a date (2026-12-01) or an RFC 3339 date-time (2026-12-01T17:00:00Z)", **where)
    year, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m = match.groups()
    try:
        if hour is None:
            return datetime(int(year), int(month), int(day), tzinfo=UTC)
        offset = timedelta(hours=int(off_h), minutes=int(off_m)) if not zulu else timedelta(0)
        zone = timezone(-offset if sign == "-" else offset)
        micro = int((fraction or "0")[:6].ljust(6, "0"))
        parsed = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micro, zone)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        raise BadRequest(f"{name} is not a real date or date-time", **where) from None


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
