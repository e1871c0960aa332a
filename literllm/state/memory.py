"""`backend = "memory"`: state in this process's memory; volatile, one process only.

Each operation runs without awaiting, so on one event loop it is atomic. Empty windows
and expired reservations are dropped as they are met, so memory stays bounded by the
traffic of the last window plus the requests in flight.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence

from .base import (
    AMOUNT_EPSILON,
    Cap,
    CapShortfall,
    HitOutcome,
    ReserveOutcome,
    WindowHit,
    WindowState,
    evaluate_window,
)

__all__ = ["MemoryStateStore"]


class _Log:
    """One sliding window: entries in time order with their running sum."""

    def __init__(self) -> None:
        self.entries: OrderedDict[str, tuple[float, int]] = OrderedDict()
        self.total = 0

    def prune(self, now: float, window_seconds: float) -> None:
        horizon = now - window_seconds
        while self.entries:
            entry_id, (timestamp, amount) = next(iter(self.entries.items()))
            if timestamp > horizon:
                break
            del self.entries[entry_id]
            self.total -= amount

    def add(self, entry_id: str, timestamp: float, amount: int) -> None:
        self.remove(entry_id)
        self.entries[entry_id] = (timestamp, amount)
        self.total += amount

    def remove(self, entry_id: str) -> None:
        old = self.entries.pop(entry_id, None)
        if old is not None:
            self.total -= old[1]

    def reset_after(self, now: float, window_seconds: float) -> float:
        if not self.entries:
            return 0.0
        oldest = next(iter(self.entries.values()))[0]
        return max(oldest + window_seconds - now, 0.0)


class MemoryStateStore:
    def __init__(self) -> None:
        self._logs: dict[str, _Log] = {}
        self._spend: dict[str, float] = {}
        self._held: dict[str, dict[str, tuple[float, float]]] = {}
        """cap -> reservation id -> (amount, expires_at)"""
        self._caps_of: dict[str, tuple[list[str], float]] = {}
        """reservation id -> (caps it holds, expires_at)"""

    async def start(self) -> None:
        return None

    async def aclose(self) -> None:
        return None

    def _log(self, window: str, now: float, window_seconds: float) -> _Log:
        log = self._logs.get(window)
        if log is None:
            log = self._logs[window] = _Log()
        log.prune(now, window_seconds)
        return log

    async def hit(
        self, entry_id: str, hits: Sequence[WindowHit], *, now: float, window_seconds: float
    ) -> HitOutcome:
        logs = [self._log(hit.window, now, window_seconds) for hit in hits]
        wait = 0.0
        refused: list[str] = []
        for hit, log in zip(hits, logs, strict=True):
            fits, hit_wait = evaluate_window(
                log.entries.values(), log.total, hit, now=now, window_seconds=window_seconds
            )
            if not fits:
                refused.append(hit.window)
                wait = max(wait, hit_wait)
        if not refused:
            for hit, log in zip(hits, logs, strict=True):
                log.add(entry_id, now, hit.amount)
        states = [
            WindowState(hit.window, hit.limit, log.total, log.reset_after(now, window_seconds))
            for hit, log in zip(hits, logs, strict=True)
        ]
        self._drop_empty(hit.window for hit in hits)
        return HitOutcome(not refused, states, wait, refused)

    def _drop_empty(self, windows: Iterable[str]) -> None:
        for window in windows:
            log = self._logs.get(window)
            if log is not None and not log.entries:
                del self._logs[window]

    def _release(self, reservation_id: str) -> None:
        caps, _ = self._caps_of.pop(reservation_id, ([], 0.0))
        for cap in caps:
            held = self._held.get(cap)
            if held is not None:
                held.pop(reservation_id, None)
                if not held:
                    del self._held[cap]

    def _live_reserved(self, cap: str, now: float) -> float:
        held = self._held.get(cap, {})
        for reservation_id in [rid for rid, (_, exp) in held.items() if exp <= now]:
            del held[reservation_id]
        return sum(amount for amount, _ in held.values())

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
        self._release(reservation_id)
        for expired in [rid for rid, (_, exp) in self._caps_of.items() if exp <= now]:
            self._release(expired)
        shortfalls: list[CapShortfall] = []
        for cap in caps:
            remaining = (
                cap.limit - self._spend.get(cap.name, 0.0) - self._live_reserved(cap.name, now)
            )
            if amount > remaining + AMOUNT_EPSILON:
                shortfalls.append(CapShortfall(cap.name, cap.limit, remaining))
        if shortfalls and enforce:
            return ReserveOutcome(False, shortfalls)
        for cap in caps:
            self._held.setdefault(cap.name, {})[reservation_id] = (amount, expires_at)
        if caps:
            self._caps_of[reservation_id] = ([cap.name for cap in caps], expires_at)
        return ReserveOutcome(True, shortfalls)

    async def settle(
        self,
        request_id: str,
        spend: Sequence[str],
        cost: float,
        *,
        now: float,
        tokens: Sequence[tuple[str, int]] = (),
        window_seconds: float,
    ) -> None:
        self._release(request_id)
        if cost:
            for name in spend:
                self._spend[name] = self._spend.get(name, 0.0) + cost
        for window, amount in tokens:
            log = self._log(window, now, window_seconds)
            log.remove(request_id)
            if amount > 0:
                log.add(request_id, now, amount)
        self._drop_empty(window for window, _ in tokens)

    async def usage(
        self, windows: Sequence[str], *, now: float, window_seconds: float
    ) -> dict[str, int]:
        result = {window: self._log(window, now, window_seconds).total for window in windows}
        self._drop_empty(windows)
        return result

    async def spend(self) -> dict[str, float]:
        return dict(self._spend)
