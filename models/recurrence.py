"""Recurrence rules: a shorthand (`daily`, `weekly`, `monthly`, `yearly`) or one RFC 5545 RRULE, and the
next occurrence a completed task gets, computed with python-dateutil.

The accepted RRULEs are exactly the spec's RecurrenceRule pattern (`RULE` below; a test checks they are
the same): upper case, an optional `RRULE:` prefix, parts in the order FREQ, INTERVAL, COUNT or UNTIL,
BYMONTH, BYMONTHDAY, BYDAY, WKST. A fixed grammar the schema can state makes every rule the schema admits
one the API accepts, and the reverse. FREQ is DAILY at the finest and BYHOUR/BYMINUTE/BYSECOND are not
offered: a todo repeats by days, and those parts would multiply a day into thousands of occurrences to
step through (INTERVAL=0 even loops dateutil for ever; the grammar starts at 1).

Occurrences are computed in UTC (no DST shifts) from the series' first occurrence, so that COUNT and
UNTIL count from it. A month day a month lacks is skipped, as RFC 5545 says (`FREQ=MONTHLY` from January
31 goes to March 31; `BYMONTHDAY=-1` is the last day of every month).
"""

from __future__ import annotations

import calendar
import re
from datetime import datetime

from dateutil.rrule import rrulestr

SHORTHANDS = {"daily": "FREQ=DAILY", "weekly": "FREQ=WEEKLY", "monthly": "FREQ=MONTHLY", "yearly": "FREQ=YEARLY"}
_N1000 = "([1-9][0-9]{0,2}|1000)"
_DAY = "(MO|TU|WE|TH|FR|SA|SU)"
_UNTIL = "[1-9][0-9]{3}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3])[0-5][0-9][0-5][0-9]Z"
_MONTH = "([1-9]|1[0-2])"
_MONTHDAY = "-?([1-9]|[12][0-9]|3[01])"
_WEEKDAY = f"([+-]?([1-9]|[1-4][0-9]|5[0-3]))?{_DAY}"
RULE = (
    f"^(daily|weekly|monthly|yearly|(RRULE:)?FREQ=(DAILY|WEEKLY|MONTHLY|YEARLY)(;INTERVAL={_N1000})?"
    f"(;(COUNT={_N1000}|UNTIL={_UNTIL}))?(;BYMONTH={_MONTH}(,{_MONTH})*)?(;BYMONTHDAY={_MONTHDAY}(,{_MONTHDAY})*)?"
    f"(;BYDAY={_WEEKDAY}(,{_WEEKDAY})*)?(;WKST={_DAY})?)$"
)
_RULE = re.compile(RULE.replace("$", r"\Z"))  # `$` would also match before a final newline
_UNTIL_VALUE = re.compile(r"UNTIL=(\d{4})(\d{2})(\d{2})")


class InvalidRule(ValueError):
    """The rule is not one this API accepts."""


def normalize(rule: str) -> str:
    """The rule as stored: a shorthand, or the RRULE without its `RRULE:` prefix. An UNTIL day past the
    end of its month (`20270231`) means the month's last day: it is an upper bound."""
    if not _RULE.fullmatch(rule):
        raise InvalidRule(rule)
    return _UNTIL_VALUE.sub(_clamp_day, rule.removeprefix("RRULE:"))


def _clamp_day(match: re.Match[str]) -> str:
    year, month, day = (int(part) for part in match.groups())
    return f"UNTIL={year:04d}{month:02d}{min(day, calendar.monthrange(year, month)[1]):02d}"


def next_occurrence(rule: str, series_start: datetime, after: datetime) -> datetime | None:
    """The first occurrence of the series strictly after `after`, or None when the rule has run out. An
    ordinal BYDAY past a month's weeks (`FREQ=YEARLY;BYMONTH=8;BYDAY=WE,MO,52SA`) makes dateutil raise
    IndexError (a 500 on completing such a task, found by the live fuzz): such a series ends there,
    rather than failing the write."""
    try:
        following: datetime | None = rrulestr(SHORTHANDS.get(rule, rule), dtstart=series_start).after(after)
    except IndexError:
        return None
    return following
