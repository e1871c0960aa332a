"""The dashboard's traffic counts added up across processes, in a shared state backend.

Each process keeps its own `Traffic` (series and ring). Where the state backend is
shared (Redis, or SQLite for the workers of one machine), a background task hands the
counts each process added (requests, errors, prompt and completion tokens, cost) to it
every `interval` seconds, per minute and per quarter hour (`traffic:m:<start>`, kept 2
hours; `traffic:q:<start>`, kept 25 hours), in one round trip or transaction; nothing
is added to a request's path.
`report` flushes this process's latest counts first, then reads the window's buckets.

What stays per process: latency percentiles (histograms do not add up cheaply), and the
ring of recent requests. When the store cannot be reached, counts wait (bounded: the
minutes of the last hour) and `report` answers with this process's own counts
(`shared: false`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Final, Protocol, runtime_checkable

from ..clock import Clock
from ..observability.throttle import ThrottledLog
from ..observability.traffic import WINDOWS, BucketCounts, Traffic, TrafficReport
from .base import StateUnavailableError

__all__ = ["CounterStore", "SharedTraffic"]

log = logging.getLogger("literllm.state")

MINUTE_TTL: Final = 7_200
QUARTER_TTL: Final = 90_000
FIELDS: Final = ("requests", "errors", "prompt_tokens", "completion_tokens", "cost_usd")


@runtime_checkable
class CounterStore(Protocol):
    """What a state store offers to add counters up across processes (Redis and SQLite
    do; the memory store is one process's anyway)."""

    async def counters_add(
        self, increments: Mapping[str, Mapping[str, int | float]], *, ttl_seconds: int
    ) -> None: ...

    async def counters(self, keys: Sequence[str]) -> list[dict[str, float]]: ...


def _fields(counts: BucketCounts) -> dict[str, int | float]:
    return {
        "requests": counts.requests,
        "errors": counts.errors,
        "prompt_tokens": counts.prompt_tokens,
        "completion_tokens": counts.completion_tokens,
        "cost_usd": counts.cost_usd,
    }


class SharedTraffic:
    def __init__(
        self, traffic: Traffic, store: CounterStore, clock: Clock, *, interval: float = 5.0
    ) -> None:
        self._traffic = traffic
        self._store = store
        self._clock = clock
        self._interval = interval
        self._waiting: dict[int, BucketCounts] = {}  # minute start -> not yet in the store
        self._lock = asyncio.Lock()
        self._outage = ThrottledLog(log, logging.WARNING, clock, interval=60.0)

    async def flush(self) -> bool:
        """Hand this process's new counts to the store; False when it failed (they wait
        for the next flush)."""
        async with self._lock:
            for start, counts in self._traffic.pending().items():
                waiting = self._waiting.get(start)
                if waiting is None:
                    self._waiting[start] = counts
                else:
                    waiting.add(counts)
            oldest = self._clock.time() - 3600
            for start in [s for s in self._waiting if s < oldest]:
                del self._waiting[start]  # its key is gone from the store's hour anyway
            if not self._waiting:
                return True
            minutes: dict[str, Mapping[str, int | float]] = {}
            quarters: dict[int, BucketCounts] = {}
            for start, counts in self._waiting.items():
                minutes[f"traffic:m:{start}"] = _fields(counts)
                quarter = quarters.setdefault(start - start % 900, BucketCounts())
                quarter.add(counts)
            try:
                await self._store.counters_add(minutes, ttl_seconds=MINUTE_TTL)
                await self._store.counters_add(
                    {f"traffic:q:{start}": _fields(c) for start, c in quarters.items()},
                    ttl_seconds=QUARTER_TTL,
                )
            except StateUnavailableError as error:
                self._outage.log("traffic counts not shared, state store unavailable: %s", error)
                return False
            self._waiting.clear()
            return True

    async def run(self) -> None:
        """Flush every `interval` seconds of real time, forever (cancel to stop): a
        fake clock's `sleep` would race it ahead."""
        while True:
            await asyncio.sleep(self._interval)
            await self.flush()

    async def report(self, window: str) -> TrafficReport:
        """The window's buckets with every process's counts (this process's own when
        the store cannot be read); percentiles are this process's."""
        seconds, count = WINDOWS[window]
        last = int(self._clock.time() // seconds) * seconds
        starts = [last - seconds * i for i in range(count - 1, -1, -1)]
        kind = "m" if window == "1h" else "q"
        await self.flush()
        try:
            found = await self._store.counters([f"traffic:{kind}:{start}" for start in starts])
        except StateUnavailableError as error:
            self._outage.log("traffic counts not shared, state store unavailable: %s", error)
            return self._traffic.report(window)
        shared = {
            start: BucketCounts(
                int(fields.get("requests", 0)),
                int(fields.get("errors", 0)),
                int(fields.get("prompt_tokens", 0)),
                int(fields.get("completion_tokens", 0)),
                fields.get("cost_usd", 0.0),
            )
            for start, fields in zip(starts, found, strict=True)
        }
        return self._traffic.report(window, shared)
