"""A log line that repeats at most once per interval, with the count it stands for.

    outage = ThrottledLog(logger, logging.ERROR, clock, interval=5.0)
    outage.log("state store unavailable, refusing requests: %s", error)

The first occurrence is logged at once; later ones within `interval` seconds (on the
injected clock) are only counted, and the next line after the interval says how many
it stands for: `... (and 41 more like it in the last 5.0 s)`. An outage that refuses
a thousand requests a second writes one line every few seconds, not a thousand.
"""

from __future__ import annotations

import logging
from typing import Any

from ..clock import Clock

__all__ = ["ThrottledLog"]


class ThrottledLog:
    __slots__ = ("_clock", "_interval", "_last", "_level", "_logger", "_suppressed")

    def __init__(
        self, logger: logging.Logger, level: int, clock: Clock, *, interval: float = 5.0
    ) -> None:
        self._logger = logger
        self._level = level
        self._clock = clock
        self._interval = interval
        self._last: float | None = None
        self._suppressed = 0

    def log(self, message: str, *args: Any) -> None:
        now = self._clock.monotonic()
        if self._last is not None and now - self._last < self._interval:
            self._suppressed += 1
            return
        if self._suppressed and self._last is not None:
            message += " (and %d more like it in the last %.1f s)"
            args = (*args, self._suppressed, now - self._last)
        self._last = now
        self._suppressed = 0
        self._logger.log(self._level, message, *args)
