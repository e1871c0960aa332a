"""The state-store protocol: sliding-window logs, budget reservations and spend.

Rate limits and budgets are written once against `StateStore`; the backends
(`memory`, `sqlite`, `redis`) differ only in where the data lives and how an operation
is made atomic. Every operation that decides (admit a hit, reserve money) checks and
writes in one atomic step, so concurrent callers in any number of processes cannot
both take the last unit of capacity.

Windows are sliding logs: each hit is an entry `(entry_id, timestamp, amount)`; an
entry counts while `timestamp > now - window_seconds`. Reservations are held per cap
with an expiry: a lease the reserving process renews while its request runs, so only a
crashed process's reservations free themselves. Spend is a
counter per cap name (`global`, `key:<id>`, `model:<provider/model>`).

Times are wall-clock seconds from the injected clock, passed in by the caller.

Hashes (`hash_*`) are small string maps for features that keep progress in the state
store (batches): set, set-if-absent, increment and read, each atomic; `settle` can
write one hash field in the same atomic step as the spend it records (`record`), so a
batch line's result and its cost are recorded together or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

import msgspec

__all__ = [
    "AMOUNT_EPSILON",
    "Cap",
    "CapShortfall",
    "HashRecord",
    "HitOutcome",
    "ReserveOutcome",
    "StateStore",
    "StateUnavailableError",
    "WindowHit",
    "WindowState",
    "evaluate_window",
]

AMOUNT_EPSILON = 1e-9
"""USD tolerance when comparing spend with a cap (float sums of prices)."""


class StateUnavailableError(Exception):
    """The store cannot be reached or failed; the message never contains credentials."""


class WindowHit(msgspec.Struct, frozen=True):
    window: str
    limit: int
    amount: int


class WindowState(msgspec.Struct, frozen=True):
    window: str
    limit: int
    used: int
    """Amount counted in the window (after this hit, when it was admitted)."""
    reset_after: float
    """Seconds until the oldest counted entry leaves the window (0 when empty)."""


class HitOutcome(msgspec.Struct, frozen=True):
    admitted: bool
    windows: list[WindowState]
    retry_after: float = 0.0
    """When refused: seconds until every window has room for its amount."""
    refused: list[str] = msgspec.field(default_factory=list)


class Cap(msgspec.Struct, frozen=True):
    name: str
    limit: float


class CapShortfall(msgspec.Struct, frozen=True):
    name: str
    limit: float
    remaining: float
    """Limit minus spend minus other live reservations (may be negative)."""


class ReserveOutcome(msgspec.Struct, frozen=True):
    reserved: bool
    shortfalls: list[CapShortfall] = msgspec.field(default_factory=list)


class HashRecord(msgspec.Struct, frozen=True):
    """One hash field to write (overwriting) with a settlement."""

    key: str
    field: str
    value: str


class StateStore(Protocol):
    settles_without_suspending: bool
    """True when every operation completes without yielding to the event loop (the
    in-process store): callers need not shield a settlement from cancellation."""

    async def start(self) -> None:
        """Open or connect; raise `StateUnavailableError` when that fails."""

    async def aclose(self) -> None: ...

    async def hit(
        self, entry_id: str, hits: Sequence[WindowHit], *, now: float, window_seconds: float
    ) -> HitOutcome:
        """All or nothing: record `entry_id` in every window when each has room for its
        amount (an amount above the limit needs an empty window), else record nothing."""

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
        """Drop any earlier reservation of `reservation_id`, then reserve `amount` on
        every cap when each has room (spend + live reservations + amount <= limit).
        With `enforce` false, reserve anyway and report the shortfalls."""

    async def renew(self, reservation_ids: Sequence[str], *, now: float, expires_at: float) -> None:
        """Move the expiry of each live reservation in `reservation_ids` to `expires_at`
        (the lease of a request still running); settled or expired ones are left alone."""

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
        """In one atomic step: drop the request's reservation, add `cost` to each named
        spend counter, and replace the request's entry in each `(window, amount)` of
        `tokens` by `amount` stamped `now` (0 removes it): the token estimate becomes
        the real usage. `record`, when given, is written in the same step."""

    async def usage(
        self, windows: Sequence[str], *, now: float, window_seconds: float
    ) -> dict[str, int]:
        """Amount currently counted in each window."""

    async def spend(self) -> dict[str, float]:
        """Every spend counter."""

    async def hash_set(self, key: str, field: str, value: str, *, only_new: bool = False) -> bool:
        """Write `field` of hash `key`; with `only_new`, only when it is absent. Returns
        whether it was written."""

    async def hash_incr(self, key: str, field: str) -> int:
        """Add 1 to the integer `field` of `key` (absent: 0) and return the new value."""

    async def hash_get(self, key: str, field: str) -> str | None: ...

    async def hash_all(self, key: str) -> dict[str, str]:
        """Every field of hash `key` (empty when absent)."""


def evaluate_window(
    entries: Iterable[tuple[float, int]],
    used: int,
    hit: WindowHit,
    *,
    now: float,
    window_seconds: float,
) -> tuple[bool, float]:
    """Whether `hit` fits a window holding `entries` (oldest first, all live, summing
    to `used`), and if not, the exact wait until enough entries have left it."""
    need = min(hit.amount, hit.limit) if hit.limit > 0 else max(hit.amount, 1)
    if used + need <= hit.limit:
        return True, 0.0
    freed = 0
    for timestamp, amount in entries:
        freed += amount
        if used - freed + need <= hit.limit:
            return False, max(timestamp + window_seconds - now, 0.0)
    return False, window_seconds
