"""Collect records and hand them on in batches, off the request path.

`add` never waits: a record joins the pending list, and a full batch (or the flush
interval) wakes one background task that writes. The pending list is bounded: when
the writer falls behind by `max_pending` records, the oldest are dropped and counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["Batcher"]

log = logging.getLogger("literllm.hooks")

Write = Callable[[list[Any]], Awaitable[None]]


class Batcher:
    def __init__(
        self,
        write: Write,
        *,
        name: str,
        batch_size: int,
        flush_interval: float,
        max_pending: int,
    ) -> None:
        self._write = write
        self._name = name
        self._batch_size = max(1, batch_size)
        self._interval = flush_interval
        self._pending: deque[Any] = deque(maxlen=max(self._batch_size, max_pending))
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.dropped = 0
        self.failed_batches = 0

    def add(self, record: Any) -> None:
        pending = self._pending
        if len(pending) == pending.maxlen:
            self.dropped += 1
        pending.append(record)
        if len(pending) >= self._batch_size:
            self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while not self._closing:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._interval)
            self._wake.clear()
            await self.flush()

    async def flush(self) -> None:
        """Write everything pending now, one batch at a time."""
        while self._pending:
            count = min(self._batch_size, len(self._pending))
            batch = [self._pending.popleft() for _ in range(count)]
            try:
                await self._write(batch)
            except Exception as error:
                self.failed_batches += 1
                log.error(
                    "%s: a batch of %d records could not be written (%s); it is dropped",
                    self._name,
                    len(batch),
                    error,
                )

    async def aclose(self) -> None:
        self._closing = True
        task, self._task = self._task, None
        if task is not None:
            self._wake.set()  # the writer finishes the batch in hand, then stops
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.flush()
        if self.dropped:
            log.warning("%s: %d records were dropped (writer too slow)", self._name, self.dropped)
