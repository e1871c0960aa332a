"""Budget periods: `budget_duration` ("1d", "7d", "30d", "1mo", ...) cut time into UTC
periods, and a period's spend is a counter of its own.

A periodic cap does not reset a counter: it reads and charges the counter stamped
with the period a request falls in, `<cap>@<duration>:<start date>` (for example
`key:k-0123456789abcdef@1d:2026-12-06`). At the boundary the next period's counter
starts at zero by construction, so the reset happens exactly once however many
processes share the store, and every past period's spend stays readable.

- `Nd`: periods of N days, counted from 1970-01-01 UTC (so "1d" runs midnight to
  midnight UTC, and "7d" periods start on a Thursday, the epoch's weekday).
- `Nmo`: periods of N calendar months, counted from January of year 1 (so "1mo" is a
  calendar month, "3mo" a calendar quarter and "12mo" a calendar year, all UTC).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import msgspec

from ..config.schema import BUDGET_DURATION_PATTERN

__all__ = [
    "DAILY",
    "DAY_SECONDS",
    "DURATION_PATTERN",
    "Period",
    "parse_duration",
    "split_stamped",
]

DURATION_PATTERN = BUDGET_DURATION_PATTERN
_DURATION = re.compile(DURATION_PATTERN)
DAY_SECONDS = 86_400
_DAY = DAY_SECONDS


class Period(msgspec.Struct, frozen=True):
    text: str
    count: int
    unit: str
    """"d" or "mo"."""

    def start(self, now: float) -> date:
        """The first day of the period holding `now` (UTC)."""
        if self.unit == "d":
            days = int(now // _DAY)
            first = days - days % self.count
            return datetime.fromtimestamp(first * _DAY, UTC).date()
        moment = datetime.fromtimestamp(now, UTC)
        months = (moment.year - 1) * 12 + moment.month - 1
        first = months - months % self.count
        return date(first // 12 + 1, first % 12 + 1, 1)

    def end(self, now: float) -> date:
        """The first day of the next period (UTC)."""
        start = self.start(now)
        if self.unit == "d":
            return date.fromordinal(start.toordinal() + self.count)
        months = (start.year - 1) * 12 + start.month - 1 + self.count
        return date(months // 12 + 1, months % 12 + 1, 1)

    def stamp(self, name: str, now: float) -> str:
        """The counter of cap `name` for the period holding `now`."""
        return f"{name}@{self.text}:{self.start(now).isoformat()}"


def parse_duration(text: str) -> Period:
    """`"1d"` -> Period; raises `ValueError` for anything else."""
    if not _DURATION.match(text):
        raise ValueError(
            f"budget_duration {text!r} is not a duration: use a number of days or calendar "
            'months, such as "1d", "7d", "30d" or "1mo"'
        )
    unit = "mo" if text.endswith("mo") else "d"
    return Period(text, int(text.removesuffix(unit)), unit)


def split_stamped(counter: str) -> tuple[str, str, str] | None:
    """`"key:k-1@1d:2026-12-06"` -> `("key:k-1", "1d", "2026-12-06")`; None for a
    lifetime counter."""
    name, at, rest = counter.rpartition("@")
    if not at:
        return None
    duration, colon, start = rest.partition(":")
    if not colon or not _DURATION.match(duration):
        return None
    return name, duration, start


DAILY = parse_duration("1d")
"""Every spend counter is also kept per UTC day (`<name>@1d:<date>`), for reports."""
