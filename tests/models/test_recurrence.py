"""Recurrence rules: the accepted grammar is the spec's, and next occurrences in UTC over month ends."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from models.recurrence import RULE, InvalidRule, next_occurrence, normalize


def at(year: int, month: int, day: int, hour: int = 9) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def test_the_grammar_is_the_specs_pattern() -> None:
    spec = yaml.safe_load((Path(__file__).parents[2] / "openapi.yaml").read_text())
    assert spec["components"]["schemas"]["RecurrenceRule"]["pattern"] == RULE


@pytest.mark.parametrize(
    ("given", "stored"),
    [("daily", "daily"), ("RRULE:FREQ=WEEKLY;BYDAY=MO,WE", "FREQ=WEEKLY;BYDAY=MO,WE"),
     ("FREQ=MONTHLY;INTERVAL=2;COUNT=3", "FREQ=MONTHLY;INTERVAL=2;COUNT=3"),
     ("FREQ=DAILY;UNTIL=20270231T000000Z", "FREQ=DAILY;UNTIL=20270228T000000Z")],
)  # fmt: skip
def test_normalize(given: str, stored: str) -> None:
    assert normalize(given) == stored


@pytest.mark.parametrize(
    "rule",
    ["Daily", "FREQ=HOURLY", "FREQ=DAILY;INTERVAL=0", "BYDAY=MO;FREQ=WEEKLY",
     "FREQ=DAILY;COUNT=2;UNTIL=20270101T000000Z", "FREQ=DAILY\n", "FREQ=WEEKLY;BYDAY=XX", "FREQ=DAILY;BYHOUR=5", ""],
)  # fmt: skip
def test_rules_outside_the_grammar_are_refused(rule: str) -> None:
    with pytest.raises(InvalidRule):
        normalize(rule)


@pytest.mark.parametrize(
    ("rule", "start", "after", "expected"),
    [("daily", at(2026, 12, 31), at(2026, 12, 31), at(2027, 1, 1)),
     ("weekly", at(2027, 3, 25), at(2027, 3, 25), at(2027, 4, 1)),  # across Europe's DST change: UTC
     ("monthly", at(2027, 1, 31), at(2027, 1, 31), at(2027, 3, 31)),  # February has no 31st: skipped
     ("FREQ=MONTHLY;BYMONTHDAY=-1", at(2027, 1, 31), at(2027, 1, 31), at(2027, 2, 28)),
     ("FREQ=MONTHLY;BYMONTHDAY=-1", at(2028, 1, 31), at(2028, 1, 31), at(2028, 2, 29)),
     ("yearly", at(2028, 2, 29), at(2028, 2, 29), at(2032, 2, 29)),
     ("FREQ=WEEKLY;BYDAY=MO,WE", at(2026, 12, 2), at(2026, 12, 2), at(2026, 12, 7)),  # a Wednesday → Monday
     ("FREQ=DAILY;INTERVAL=3", at(2026, 1, 1), at(2026, 1, 5), at(2026, 1, 7)),  # counted from the start
     ("FREQ=DAILY;COUNT=2", at(2026, 1, 1), at(2026, 1, 1), at(2026, 1, 2)),
     ("FREQ=DAILY;COUNT=2", at(2026, 1, 1), at(2026, 1, 2), None),  # run out
     ("FREQ=DAILY;UNTIL=20260103T090000Z", at(2026, 1, 1), at(2026, 1, 2), at(2026, 1, 3)),
     ("FREQ=DAILY;UNTIL=20260103T090000Z", at(2026, 1, 1), at(2026, 1, 3), None)],
)  # fmt: skip
def test_next_occurrence(rule: str, start: datetime, after: datetime, expected: datetime | None) -> None:
    assert next_occurrence(normalize(rule), start, after) == expected


def test_a_rule_dateutil_cannot_step_ends_the_series() -> None:
    """An ordinal BYDAY past a month's weeks, the 52nd Saturday of August: dateutil raised IndexError
    (a 500 found by the live fuzz); the series ends instead."""
    rule = normalize("FREQ=YEARLY;INTERVAL=28;BYMONTH=8;BYDAY=WE,MO,52SA;WKST=SA")
    start = datetime(2027, 2, 28, 10, tzinfo=UTC)
    assert next_occurrence(rule, start, start) is None
