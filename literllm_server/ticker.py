"""One timer for the delayed work of every request in flight.

A request that wants something done only if it is still running a little later (the
disconnect watcher, started `WATCH_AFTER_SECS` into a request) would otherwise create
and cancel an event-loop timer of its own: a few microseconds on every request, most of
which end long before their timer. `Ticker` keeps such actions in two generations and
runs one periodic timer: an action registered now runs at the tick after next, between
one and two periods later, unless it was cancelled first; registering and cancelling
are a dict insertion and removal. The timer stops when no action is left, and restarts
with the next registration.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Hashable

__all__ = ["Ticker"]

log = logging.getLogger("literllm.server")


class Ticker:
    """Runs each registered action one to two `period`s later, unless cancelled."""

    __slots__ = ("_handle", "_loop", "_old", "_young", "period")

    def __init__(self, period: float) -> None:
        self.period = period
        self._young: dict[Hashable, Callable[[], None]] = {}
        """Registered since the last tick: due at the tick after next."""
        self._old: dict[Hashable, Callable[[], None]] = {}
        """Registered before the last tick: due at the next one."""
        self._handle: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def later(self, owner: Hashable, action: Callable[[], None]) -> None:
        """Run `action` (in the running loop) one to two periods from now, unless
        `cancel(owner)` comes first. `owner` has at most one action at a time."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # first use, or a new loop: the old one's timer is gone
            self._loop, self._handle = loop, None
            self._young, self._old = {}, {}
        self._young[owner] = action
        if self._handle is None:
            self._handle = loop.call_later(self.period, self._tick)

    def cancel(self, owner: Hashable) -> None:
        """Forget `owner`'s action (no-op when it ran or was never registered)."""
        if self._young.pop(owner, None) is None:
            self._old.pop(owner, None)

    def _tick(self) -> None:
        due, self._old, self._young = self._old, self._young, {}
        if self._old and self._loop is not None:
            self._handle = self._loop.call_later(self.period, self._tick)
        else:
            self._handle = None
        for action in due.values():
            try:
                action()
            except Exception:  # one failing action must not keep the others from running
                log.exception("a delayed action failed")
