"""`GET /admin/spend?group_by=...`: spend counters added up by key, team, model, end user
and UTC day.

Every response's cost is added to its lifetime counters (`global`, `key:<id>`,
`team:<name>`, `model:<provider/model>`, `user:<key id>:<end user>`) and to each one's
counter of the day (`<name>@1d:<date>`). A report over dates (`start`, `end`, or
grouped by `period`) adds up day counters; one without reads the lifetime counters
(which also hold spend from before day counters existed).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Literal

import msgspec

from ..errors import BadRequestError
from .periods import split_stamped

__all__ = ["DIMENSIONS", "SpendBreakdown", "SpendRow", "breakdown", "parse_query"]

Dimension = Literal["key", "team", "model", "end_user", "period"]
DIMENSIONS: tuple[Dimension, ...] = ("key", "team", "model", "end_user", "period")
_PREFIX = {"key": "key:", "team": "team:", "model": "model:", "end_user": "user:"}


class SpendRow(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    period: str | None = None
    key: str | None = None
    team: str | None = None
    model: str | None = None
    end_user: str | None = None
    spend: float = 0.0


class SpendBreakdown(msgspec.Struct, frozen=True, kw_only=True):
    object: str = "spend_report"
    group_by: list[str]
    start: str | None
    end: str | None
    """Inclusive UTC dates (`null`: unbounded)."""
    total: float
    data: list[SpendRow]

    def csv(self) -> str:
        """The rows as CSV: one column per grouping, then `spend`."""
        columns = [c for c in ("period", "key", "team", "model", "end_user") if c in self._used]
        lines = [",".join([*columns, "spend"])]
        for row in self.data:
            cells = [_csv_cell(getattr(row, column) or "") for column in columns]
            lines.append(",".join([*cells, repr(row.spend)]))
        return "\r\n".join(lines) + "\r\n"

    @property
    def _used(self) -> set[str]:
        used = set(self.group_by)
        if "end_user" in used:
            used.add("key")
        return used


def _csv_cell(text: str) -> str:
    if text[:1] in ("=", "+", "-", "@"):  # no formulas when opened in a spreadsheet
        text = "'" + text
    if any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def parse_query(
    group_by: str | None, start: str | None, end: str | None
) -> tuple[list[Dimension], date | None, date | None]:
    """The query's groupings and dates; 400 naming the parameter on bad input."""
    groups: list[Dimension] = []
    for part in (group_by or "").split(","):
        name = part.strip()
        if not name:
            continue
        if name not in DIMENSIONS:
            raise BadRequestError(
                f"unknown group_by {name!r}; expected one or more of: " + ", ".join(DIMENSIONS),
                param="group_by",
            )
        if name not in groups:
            groups.append(name)
    if len([g for g in groups if g != "period"]) > 1:
        raise BadRequestError(
            "group_by takes at most one of key, team, model and end_user (plus period): "
            "spend is counted per dimension, not per combination",
            param="group_by",
        )
    first, last = _date(start, "start"), _date(end, "end")
    if first is not None and last is not None and first > last:
        raise BadRequestError("start is after end", param="start")
    return groups, first, last


def _date(text: str | None, param: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise BadRequestError(
            f"{param} {text!r} is not a date; expected YYYY-MM-DD (UTC)", param=param
        ) from None


def breakdown(
    counters: dict[str, float],
    groups: list[Dimension],
    start: date | None,
    end: date | None,
    *,
    key: str | None = None,
) -> SpendBreakdown:
    """Add up `counters` by `groups` over the UTC days `start`..`end` (inclusive);
    `key` keeps only that key's rows (for key and end_user)."""
    dimension = next((g for g in groups if g != "period"), None)
    by_period = "period" in groups
    daily = by_period or start is not None or end is not None
    totals: dict[tuple[str | None, ...], float] = {}
    for name, amount in _counters(counters, daily, start, end):
        counter, day = name
        found = _match(counter, dimension, key)
        if found is None:
            continue
        group = ((day if by_period else None), *found)
        totals[group] = totals.get(group, 0.0) + amount
    rows = [
        _row(group, dimension, amount)
        for group, amount in sorted(totals.items(), key=lambda item: [g or "" for g in item[0]])
    ]
    return SpendBreakdown(
        group_by=list(groups),
        start=start.isoformat() if start else None,
        end=end.isoformat() if end else None,
        total=sum(row.spend for row in rows),
        data=rows,
    )


def _counters(
    counters: dict[str, float], daily: bool, start: date | None, end: date | None
) -> Iterable[tuple[tuple[str, str | None], float]]:
    low, high = (start.isoformat() if start else ""), (end.isoformat() if end else "9999")
    for name, amount in counters.items():
        stamped = split_stamped(name)
        if not daily:
            if stamped is None:
                yield (name, None), amount
            continue
        if stamped is None or stamped[1] != "1d":
            continue
        base, _, day = stamped
        if low <= day <= high:
            yield (base, day), amount


def _match(
    counter: str, dimension: Dimension | None, key: str | None
) -> tuple[str | None, ...] | None:
    """The grouping values of `counter` for `dimension`, None when it is not one."""
    if dimension is None:
        return () if counter == "global" else None
    prefix = _PREFIX[dimension]
    if not counter.startswith(prefix):
        return None
    value = counter.removeprefix(prefix)
    if dimension == "end_user":
        owner, _, user = value.partition(":")
        return None if key is not None and owner != key else (owner, user)
    if dimension == "key" and key is not None and value != key:
        return None
    return (value,)


def _row(group: tuple[str | None, ...], dimension: Dimension | None, amount: float) -> SpendRow:
    period, *values = group
    if dimension is None:
        return SpendRow(period=period, spend=amount)
    if dimension == "end_user":
        return SpendRow(period=period, key=values[0], end_user=values[1], spend=amount)
    return SpendRow(period=period, spend=amount, **{dimension: values[0]})
