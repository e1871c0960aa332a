"""Run the lines of every unfinished batch, in this process and any other sharing the
state store.

Each line is claimed once (a counter in the state store) and goes through the same
pipeline as a live request of the batch's key. A successful line's output is written
in the same atomic step as its spend, so after a crash a line either has its result
and its cost recorded, or neither. Lines claimed by a process that stopped reporting
itself alive (killed) are never run again: they are written to the error file as
`interrupted`. Lines run at a bounded concurrency and wait while live traffic is busy.

The loop is paced in real time (`asyncio.sleep`), not by the injected clock: a test's
fake clock is read for timestamps and expiry but never moved by the runner.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING

from ..clock import Clock
from ..config import BatchesConfig
from ..errors import LiterLLMError
from ..state.base import HashRecord
from .book import BatchBook, LineResult, counts
from .lines import InputLine, error_line, output_line, parse_input
from .model import FINISHED, BatchDoc, RequestCounts

if TYPE_CHECKING:
    from ..storage.files import FileStore

__all__ = ["BatchRunner", "LineRunner"]

log = logging.getLogger("literllm.batches")

LineRunner = Callable[
    [BatchDoc, InputLine, Callable[[bytes, float], HashRecord]], Awaitable[tuple[int, bytes]]
]
"""Run one line as the batch's key: (status, body). A 2xx answer's settlement writes
the record the callback builds (body, cost)."""

_DEAD_AFTER_BEATS = 5


class BatchRunner:
    def __init__(
        self,
        book: BatchBook,
        files: FileStore,
        run_line: LineRunner,
        clock: Clock,
        config: BatchesConfig,
        in_flight: Callable[[], int],
    ) -> None:
        self._book = book
        self._files = files
        self._run_line = run_line
        self._clock = clock
        self._config = config
        self._in_flight = in_flight
        self.worker = "w-" + secrets.token_hex(8)
        self._slots = asyncio.Semaphore(config.concurrency)
        self._lines: dict[str, list[InputLine]] = {}
        self._orphans: dict[str, set[int]] = {}
        self._stop: set[str] = set()
        self._running = 0
        self._task: asyncio.Task[None] | None = None
        self._watching = False

    # -- lifecycle ------------------------------------------------------------------

    def wake(self) -> None:
        """Start working (idempotent); called at start-up when batches are unfinished
        and whenever one is created."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._loop())

    def watch(self) -> None:
        """Keep looking for batches even when there are none (a server: batches created
        by other processes sharing the state store are picked up)."""
        self._watching = True
        self.wake()

    async def aclose(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _loop(self) -> None:
        beat = asyncio.create_task(self._beat_forever())
        try:
            while True:
                try:
                    if not await self.tick() and not self._watching:
                        return  # nothing unfinished: `wake` starts again
                except LiterLLMError as error:
                    log.warning("batches: %s", error)
                except Exception:
                    log.exception("batches: unexpected error; retrying")
                await asyncio.sleep(self._config.poll_interval_secs)
        finally:
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat

    async def _beat_forever(self) -> None:
        while True:
            with contextlib.suppress(Exception):
                await self._book.beat(self.worker, self._clock.time())
                for doc in await self._book.all():
                    if doc.status != "in_progress" or self._expired(doc):
                        self._stop.add(doc.id)
            await asyncio.sleep(self._config.poll_interval_secs)

    # -- one pass -------------------------------------------------------------------

    async def tick(self) -> bool:
        """One pass over the unfinished batches: run what is left, recover what dead
        processes left behind, finish what is done. False when none was unfinished."""
        now = self._clock.time()
        await self._book.beat(self.worker, now)
        unfinished = False
        for doc in await self._book.all():
            if doc.status in FINISHED:
                self._forget(doc.id)
                continue
            unfinished = True
            if doc.status == "in_progress" and not self._expired(doc):
                self._stop.discard(doc.id)
                await self._work(doc)
            else:
                self._stop.add(doc.id)
            await self._recover(doc)
            await self._maybe_finish(doc)
        return unfinished

    def _expired(self, doc: BatchDoc) -> bool:
        return doc.expires_at is not None and self._clock.time() >= doc.expires_at

    def _forget(self, batch_id: str) -> None:
        self._lines.pop(batch_id, None)
        self._orphans.pop(batch_id, None)
        self._stop.discard(batch_id)

    async def _input(self, doc: BatchDoc) -> list[InputLine]:
        lines = self._lines.get(doc.id)
        if lines is None:
            chunks = await self._files.content(owner=doc.owner, file_id=doc.input_file_id)
            data = b"".join([chunk async for chunk in chunks])
            lines, _ = parse_input(data, doc.endpoint)
            self._lines[doc.id] = lines
        return lines

    async def _work(self, doc: BatchDoc) -> None:
        lines = await self._input(doc)

        async def worker() -> None:
            while doc.id not in self._stop:
                await self._yield_to_live()
                async with self._slots:
                    index = await self._book.claim(doc, self.worker)
                    if index is None:
                        return
                    self._running += 1
                    try:
                        await self._run(doc, lines, index)
                    finally:
                        self._running -= 1

        await asyncio.gather(*(worker() for _ in range(self._config.concurrency)))

    async def _yield_to_live(self) -> None:
        limit = self._config.yield_to_live
        if not limit:
            return
        for _ in range(600):  # bounded: at most ~60 s of waiting per line
            if self._in_flight() - self._running <= limit:
                return
            await self._clock.sleep(0.1)

    async def _run(self, doc: BatchDoc, lines: list[InputLine], index: int) -> None:
        line = lines[index]
        book = self._book

        def record(body: bytes, cost: float) -> HashRecord:
            return book.record(
                doc.id, index, LineResult(True, cost, output_line(line.custom_id, 200, body))
            )

        try:
            status, body = await self._run_line(doc, line, record)
        except Exception:
            log.exception("batches: line %s of %s failed unexpectedly", index, doc.id)
            status, body = 500, b'{"error":{"message":"internal error","type":"server_error"}}'
        ok = 200 <= status < 300
        result = LineResult(ok, 0.0, output_line(line.custom_id, status, body))
        # A 2xx line was recorded with its cost by its settlement; writing it again
        # only matters when the state store could not take that write (then no spend
        # was recorded either, so its cost is 0).
        await book.write(doc.id, index, result, only_new=ok)

    async def _alive(self) -> set[str]:
        horizon = self._clock.time() - _DEAD_AFTER_BEATS * self._config.poll_interval_secs
        workers = await self._book.workers()
        return {w for w, seen in workers.items() if seen > horizon} | {self.worker}

    async def _recover(self, doc: BatchDoc) -> None:
        """Lines claimed by dead processes, or claimed with no claimant written (a
        process died in between) for two passes, go to the error file: they may have
        reached the provider, so they are not run again."""
        results = await self._book.results(doc.id)
        claims = await self._book.claims(doc.id)
        cursor = min(await self._book.cursor(doc.id), doc.total)
        alive = await self._alive()
        orphans: set[int] = set()
        for index in range(cursor):
            if index in results:
                continue
            claimant = claims.get(index)
            if claimant is None:
                if index not in self._orphans.get(doc.id, ()):
                    orphans.add(index)
                    continue
            elif claimant in alive:
                continue
            await self._interrupted(doc, index)
        self._orphans[doc.id] = orphans

    async def _interrupted(self, doc: BatchDoc, index: int) -> None:
        lines = await self._input(doc)
        message = "the gateway stopped while this request was in flight; it was not retried"
        result = LineResult(False, 0.0, error_line(lines[index].custom_id, "interrupted", message))
        await self._book.write(doc.id, index, result, only_new=True)

    # -- finishing ------------------------------------------------------------------

    async def _maybe_finish(self, doc: BatchDoc) -> None:
        results = await self._book.results(doc.id)
        stopping = doc.status == "cancelling" or self._expired(doc)
        if not stopping and len(results) < doc.total:
            return
        if stopping:
            claims = await self._book.claims(doc.id)
            alive = await self._alive()
            if any(i not in results and claims[i] in alive for i in claims):
                return  # lines still in flight here or elsewhere
        if not await self._book.take(doc.id, "finalizer", self.worker):
            holder = await self._book.holder(doc.id, "finalizer")
            if holder in await self._alive():
                return
            await self._book.retake(doc.id, "finalizer", self.worker)
        await self._finish(doc, results)

    async def _finish(self, doc: BatchDoc, results: dict[int, LineResult]) -> None:
        now = int(self._clock.time())
        lines = await self._input(doc)
        final = "completed"
        if doc.status == "cancelling":
            final, code, why = "cancelled", "batch_cancelled", "the batch was cancelled"
        else:
            final, code, why = (
                ("expired", "batch_expired", "the batch's completion window ended")
                if len(results) < doc.total
                else ("completed", "", "")
            )
        doc.status, doc.finalizing_at = "finalizing", now
        await self._book.save(doc)
        for index in range(doc.total):
            if index not in results:
                result = LineResult(False, 0.0, error_line(lines[index].custom_id, code, why))
                await self._book.write(doc.id, index, result, only_new=True)
        results = await self._book.results(doc.id)
        ordered = [results[i] for i in range(doc.total)]
        good = [r.line for r in ordered if r.ok]
        bad = [r.line for r in ordered if not r.ok]
        if good:
            doc.output_file_id = await self._file(doc, "output", good)
        if bad:
            doc.error_file_id = await self._file(doc, "error", bad)
        completed, failed = counts(results)
        doc.request_counts = RequestCounts(total=doc.total, completed=completed, failed=failed)
        doc.status = final
        if final == "completed":
            doc.completed_at = now
        elif final == "cancelled":
            doc.cancelled_at = now
        else:
            doc.expired_at = now
        await self._book.save(doc)
        self._forget(doc.id)

    async def _file(self, doc: BatchDoc, kind: str, lines: list[str]) -> str:
        async def chunks() -> AsyncIterator[bytes]:
            for start in range(0, len(lines), 500):
                yield ("\n".join(lines[start : start + 500]) + "\n").encode()

        created = await self._files.create(
            owner=doc.owner,
            filename=f"{doc.id}_{kind}.jsonl",
            purpose="batch_output",
            chunks=chunks(),
            written_by_gateway=True,
        )
        return created.id
