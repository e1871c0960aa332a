"""`backend = "memory"`: state in this process's memory; volatile, one process only.

Each operation runs without awaiting, so on one event loop it is atomic. Empty windows
and expired reservations are dropped as they are met.

Sliding windows are kept in bounded memory. A window is a deque of *cells*, oldest
first; a cell holds one or more entries as `(stamp, amount)`: the sum of their
amounts, stamped with the latest of their timestamps, and counted while
`stamp > now - window_seconds`.

- Until a window holds `EXACT_CELLS` (1024) cells, every entry gets its own cell: the
  log is exact, as in the other backends (exact `retry-after`, no double burst,
  amendment of any entry by id).
- From then on, until it is back under 512 cells, the window *merges*: an entry that
  arrives less than one granule, `window_seconds / EXACT_CELLS` (~59 ms for 60 s),
  after the *first* entry of the newest cell is merged into it.
  Cells are then at least that far apart, so a window never holds more than
  `MAX_CELLS` = 2 x 1024 + 1 cells (at most 1024 one-entry cells plus one per 59 ms
  of the last minute), whatever the traffic; under steady heavy traffic about 1025.

Merging is conservative: a merged entry leaves the window when the newest entry of its
cell does, never earlier than in the exact log, so the counted amount is at least the
exact one and a limit is never exceeded. A refusal may come early by less than one
granule (~59 ms), and `retry-after` / `reset_after` are upper bounds of the exact
values, late by less than one granule.

Amendments (`settle` replaces a request's token estimate by its real usage, by entry
id) need to find the entry's cell and amount: `_Log.tracked` maps entry id to its
cell, and the cell maps its tracked ids to their amounts, so they are forgotten when
it leaves the window. Tracked are every entry of an exact window, and, in a merged
window, the entries admitted by `hit` once the window has been amended at least once
(its tokens windows), up to `MAX_TRACKED` at a time. An item leaves the map when
amended or when its cell leaves the window, so in steady traffic the map holds the
requests in flight. The amended entry (real usage, stamped `now`) is merged like any
new entry but no longer tracked in a merged window: amending it again, or amending an
untracked entry, adds the new amount without removing the old one, which stays
counted until its cell leaves (conservative). Requests windows are never amended, so
a busy requests window tracks nothing beyond its exact phase.

`hit` on a request that fits costs O(1) per window (amortized over pruning); only a
refusal walks the window's cells to compute the wait.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Iterable, Iterator, Sequence

from .base import (
    AMOUNT_EPSILON,
    Cap,
    CapShortfall,
    HashRecord,
    HitOutcome,
    ReserveOutcome,
    WindowHit,
    WindowState,
    evaluate_window,
)

__all__ = ["EXACT_CELLS", "MAX_CELLS", "MAX_TRACKED", "MemoryStateStore"]

EXACT_CELLS = 1024
"""Cells a window holds before entries start to be merged; also the number of granules
a window is divided into (granule = window_seconds / EXACT_CELLS)."""
MAX_CELLS = 2 * EXACT_CELLS + 1
"""Most cells a window can hold (with a clock that does not go back)."""
MAX_TRACKED = 16_384
"""Most entries of a merged window awaiting amendment that are tracked by id at once."""


class _Cell:
    """Entries merged together: counted until `stamp + window_seconds`."""

    __slots__ = ("amount", "count", "ids", "stamp", "start")

    def __init__(self, now: float, amount: int) -> None:
        self.start = now
        """Time of the cell's first entry: later entries merge within one granule."""
        self.stamp = now
        """Latest time of its entries: the cell counts while `stamp > now - window`."""
        self.amount = amount
        self.count = 1
        """Entries in the cell, less the ones amended away (0: the cell can go)."""
        self.ids: dict[str, int] | None = None
        """Tracked entries of this cell not amended yet: entry id -> amount."""


class _Log:
    """One sliding window: cells in time order with their running sum."""

    __slots__ = ("amended", "cells", "merging", "total", "tracked")

    def __init__(self) -> None:
        self.cells: deque[_Cell] = deque()
        self.total = 0
        self.tracked: dict[str, _Cell] = {}
        """entry id -> its cell, for entries that may be amended (amount in `cell.ids`)"""
        self.amended = False
        """Whether `settle` has amended this window (it is a tokens window)."""
        self.merging = False
        """Set when the window reaches `EXACT_CELLS` cells, cleared when it is back
        under half of that (so a busy window does not flip at every granule)."""

    def prune(self, horizon: float) -> None:
        """Drop the leading cells that left the window or whose entries were all amended."""
        cells = self.cells
        while cells:
            cell = cells[0]
            if cell.stamp > horizon and cell.count:
                return
            cells.popleft()
            self.total -= cell.amount
            if cell.ids:
                tracked = self.tracked
                for entry_id in cell.ids:
                    del tracked[entry_id]
                if not tracked:
                    self.tracked = {}  # an emptied dict keeps its table

    def add(self, entry_id: str, now: float, amount: int, granule: float, *, hit: bool) -> None:
        """Count `amount` at `now` for `entry_id` (replacing its tracked entry, if any)."""
        tracked = self.tracked
        if entry_id in tracked:
            self.remove(entry_id)
        cells = self.cells
        self.total += amount
        if self.merging:
            self.merging = len(cells) >= EXACT_CELLS // 2
        else:
            self.merging = len(cells) >= EXACT_CELLS
        if not self.merging:
            cell = _Cell(now, amount)
            cells.append(cell)
        else:
            cell = cells[-1]
            if now - cell.start < granule:
                cell.amount += amount
                cell.count += 1
                if now > cell.stamp:
                    cell.stamp = now
            else:
                cell = _Cell(now, amount)
                cells.append(cell)
            if not (hit and self.amended and len(tracked) < MAX_TRACKED):
                return
        tracked[entry_id] = cell
        if cell.ids is None:
            cell.ids = {entry_id: amount}
        else:
            cell.ids[entry_id] = amount

    def remove(self, entry_id: str) -> None:
        cell = self.tracked.pop(entry_id, None)
        if cell is None:
            return
        ids = cell.ids
        amount = 0
        if ids is not None:
            amount = ids.pop(entry_id)
            if not ids:
                cell.ids = None  # an emptied dict keeps its table: let it go
        cell.amount -= amount
        cell.count -= 1
        self.total -= amount
        cells = self.cells
        while cells and not cells[0].count:
            self.total -= cells.popleft().amount  # 0: only emptied cells get here

    def pairs(self) -> Iterator[tuple[float, int]]:
        return ((cell.stamp, cell.amount) for cell in self.cells)


class MemoryStateStore:
    settles_without_suspending = True

    def __init__(self) -> None:
        self._logs: dict[str, _Log] = {}
        self._spend: dict[str, float] = {}
        self._held: dict[str, float] = {}
        """cap -> sum of the live reservations on it"""
        self._holders: dict[str, int] = {}
        """cap -> how many live reservations it has (its sum resets to 0 at none)"""
        self._caps_of: dict[str, tuple[list[str], float, float]] = {}
        """reservation id -> (caps it holds, amount, expires_at)"""
        self._expiries: list[tuple[float, str]] = []
        """heap of (expires_at, reservation id); stale items are skipped"""
        self._hashes: dict[str, dict[str, str]] = {}

    async def start(self) -> None:
        return None

    async def aclose(self) -> None:
        return None

    def _log(self, window: str, horizon: float) -> _Log:
        """The window's log, pruned of what left it by `horizon` (created when absent)."""
        log = self._logs.get(window)
        if log is None:
            log = self._logs[window] = _Log()
        else:
            cells = log.cells
            if cells:
                first = cells[0]
                if first.stamp <= horizon or not first.count:
                    log.prune(horizon)
        return log

    async def hit(
        self, entry_id: str, hits: Sequence[WindowHit], *, now: float, window_seconds: float
    ) -> HitOutcome:
        horizon = now - window_seconds
        logs: list[_Log] = []
        wait = 0.0
        refused: list[str] = []
        for hit in hits:
            log = self._log(hit.window, horizon)
            logs.append(log)
            limit = hit.limit
            if limit > 0 and log.total + hit.amount <= limit:
                continue  # the common case: it fits, no need to look at the cells
            fits, hit_wait = evaluate_window(
                log.pairs(), log.total, hit, now=now, window_seconds=window_seconds
            )
            if not fits:
                refused.append(hit.window)
                wait = max(wait, hit_wait)
        states: list[WindowState] = []
        if refused:
            for hit, log in zip(hits, logs, strict=True):
                cells = log.cells
                reset_after = max(cells[0].stamp + window_seconds - now, 0.0) if cells else 0.0
                states.append(WindowState(hit.window, hit.limit, log.total, reset_after))
            self._drop_empty(hit.window for hit in hits)
            return HitOutcome(False, states, wait, refused)
        granule = window_seconds / EXACT_CELLS
        for hit, log in zip(hits, logs, strict=True):
            log.add(entry_id, now, hit.amount, granule, hit=True)
            reset_after = log.cells[0].stamp + window_seconds - now  # add leaves a cell
            if reset_after < 0.0:
                reset_after = 0.0
            states.append(WindowState(hit.window, hit.limit, log.total, reset_after))
        return HitOutcome(True, states, wait, refused)

    def _drop_empty(self, windows: Iterable[str]) -> None:
        for window in windows:
            log = self._logs.get(window)
            if log is not None and not log.cells:
                del self._logs[window]

    def _release(self, reservation_id: str) -> None:
        found = self._caps_of.pop(reservation_id, None)
        if found is None:
            return
        caps, amount, _ = found
        held, holders = self._held, self._holders
        for cap in caps:
            left = holders[cap] - 1
            if left:
                holders[cap] = left
                held[cap] -= amount
            else:  # also clears any rounding left by the running sum
                del holders[cap], held[cap]

    def _expire(self, now: float) -> None:
        expiries = self._expiries
        while expiries and expiries[0][0] <= now:
            expires_at, reservation_id = heapq.heappop(expiries)
            found = self._caps_of.get(reservation_id)
            if found is not None and found[2] == expires_at:
                self._release(reservation_id)

    async def reserve(
        self,
        reservation_id: str,
        caps: Sequence[Cap],
        amount: float,
        *,
        now: float,
        expires_at: float,
        enforce: bool,
    ) -> ReserveOutcome:
        if reservation_id in self._caps_of:
            self._release(reservation_id)
        expiries = self._expiries
        if expiries and expiries[0][0] <= now:
            self._expire(now)
        shortfalls: list[CapShortfall] = []
        spend, held = self._spend, self._held
        names: list[str] = []
        for cap in caps:
            name = cap.name
            names.append(name)
            remaining = cap.limit - spend.get(name, 0.0) - held.get(name, 0.0)
            if amount > remaining + AMOUNT_EPSILON:
                shortfalls.append(CapShortfall(name, cap.limit, remaining))
        if shortfalls and enforce:
            return ReserveOutcome(False, shortfalls)
        if names:
            holders = self._holders
            for name in names:
                held[name] = held.get(name, 0.0) + amount
                holders[name] = holders.get(name, 0) + 1
            self._caps_of[reservation_id] = (names, amount, expires_at)
            if expires_at < math.inf:  # one that never expires needs no place in the heap
                if len(expiries) > 2 * len(self._caps_of) + 1024:
                    # most items are for settled reservations: rebuild from the live ones
                    expiries[:] = [
                        (exp, rid) for rid, (_, _, exp) in self._caps_of.items() if exp < math.inf
                    ]
                    heapq.heapify(expiries)
                else:
                    heapq.heappush(expiries, (expires_at, reservation_id))
        return ReserveOutcome(True, shortfalls)

    async def renew(self, reservation_ids: Sequence[str], *, now: float, expires_at: float) -> None:
        caps_of, expiries = self._caps_of, self._expiries
        for reservation_id in reservation_ids:
            found = caps_of.get(reservation_id)
            if found is not None and found[2] > now:
                caps_of[reservation_id] = (found[0], found[1], expires_at)
                heapq.heappush(expiries, (expires_at, reservation_id))

    async def settle(
        self,
        request_id: str,
        spend: Sequence[str],
        cost: float,
        *,
        now: float,
        tokens: Sequence[tuple[str, int]] = (),
        window_seconds: float,
        record: HashRecord | None = None,
    ) -> None:
        self._release(request_id)
        if record is not None:
            self._hashes.setdefault(record.key, {})[record.field] = record.value
        if cost:
            totals = self._spend
            for name in spend:
                totals[name] = totals.get(name, 0.0) + cost
        if not tokens:
            return
        horizon = now - window_seconds
        granule = window_seconds / EXACT_CELLS
        for window, amount in tokens:
            log = self._log(window, horizon)
            log.amended = True
            log.remove(request_id)
            if amount > 0:
                log.add(request_id, now, amount, granule, hit=False)
            elif not log.cells:
                del self._logs[window]

    async def usage(
        self, windows: Sequence[str], *, now: float, window_seconds: float
    ) -> dict[str, int]:
        horizon = now - window_seconds
        result = {window: self._log(window, horizon).total for window in windows}
        self._drop_empty(windows)
        return result

    async def spend(self) -> dict[str, float]:
        return dict(self._spend)

    async def hash_set(self, key: str, field: str, value: str, *, only_new: bool = False) -> bool:
        fields = self._hashes.setdefault(key, {})
        if only_new and field in fields:
            return False
        fields[field] = value
        return True

    async def hash_incr(self, key: str, field: str) -> int:
        fields = self._hashes.setdefault(key, {})
        value = int(fields.get(field, "0")) + 1
        fields[field] = str(value)
        return value

    async def hash_get(self, key: str, field: str) -> str | None:
        return self._hashes.get(key, {}).get(field)

    async def hash_all(self, key: str) -> dict[str, str]:
        return dict(self._hashes.get(key, {}))
