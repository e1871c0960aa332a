"""Where batches keep their progress: hashes of the gateway's state store, so progress
survives a restart with a durable backend and is shared by every process on Redis.

| hash | field | value |
|---|---|---|
| `batches` | batch id | the `BatchDoc` JSON |
| `batch:<id>` | `cursor` | lines claimed so far (the next line is `cursor`) |
| `batch:<id>:claims` | line index | the worker that claimed it |
| `batch:<id>:results` | line index | `{"ok", "cost", "line"}`: the output or error line |
| `batch-workers` | worker id | when it last reported itself alive |
"""

from __future__ import annotations

from typing import Any

import msgspec

from ..state import StateStore
from ..state.base import HashRecord
from .model import BatchDoc, decode_doc, encode_doc

__all__ = ["BatchBook", "LineResult"]


class LineResult(msgspec.Struct, frozen=True):
    ok: bool
    cost: float
    line: str


_decode_result = msgspec.json.Decoder(LineResult)
_encode = msgspec.json.Encoder().encode


class BatchBook:
    def __init__(self, state: StateStore) -> None:
        self._state = state

    async def save(self, doc: BatchDoc) -> None:
        await self._state.hash_set("batches", doc.id, encode_doc(doc))

    async def load(self, batch_id: str) -> BatchDoc | None:
        text = await self._state.hash_get("batches", batch_id)
        return None if text is None else decode_doc(text)

    async def all(self) -> list[BatchDoc]:
        return [decode_doc(text) for text in (await self._state.hash_all("batches")).values()]

    async def claim(self, doc: BatchDoc, worker: str) -> int | None:
        """The next line of the batch for `worker`, or None when every line is taken."""
        index = await self._state.hash_incr(f"batch:{doc.id}", "cursor") - 1
        if index >= doc.total:
            return None
        await self._state.hash_set(f"batch:{doc.id}:claims", str(index), worker)
        return index

    async def cursor(self, batch_id: str) -> int:
        value = await self._state.hash_get(f"batch:{batch_id}", "cursor")
        return int(value) if value else 0

    async def claims(self, batch_id: str) -> dict[int, str]:
        raw = await self._state.hash_all(f"batch:{batch_id}:claims")
        return {int(k): v for k, v in raw.items()}

    def record(self, batch_id: str, index: int, result: LineResult) -> HashRecord:
        """The record a settlement writes with the line's spend."""
        return HashRecord(f"batch:{batch_id}:results", str(index), _encode(result).decode())

    async def write(self, batch_id: str, index: int, result: LineResult, *, only_new: bool) -> bool:
        record = self.record(batch_id, index, result)
        return await self._state.hash_set(record.key, record.field, record.value, only_new=only_new)

    async def results(self, batch_id: str) -> dict[int, LineResult]:
        raw = await self._state.hash_all(f"batch:{batch_id}:results")
        return {int(k): _decode_result.decode(v) for k, v in raw.items()}

    async def beat(self, worker: str, now: float) -> None:
        await self._state.hash_set("batch-workers", worker, repr(now))

    async def workers(self) -> dict[str, float]:
        return {k: float(v) for k, v in (await self._state.hash_all("batch-workers")).items()}

    async def take(self, batch_id: str, role: str, worker: str) -> bool:
        """Whether `worker` is the first to take `role` for the batch (validating,
        finalizing)."""
        return await self._state.hash_set(f"batch:{batch_id}", role, worker, only_new=True)

    async def holder(self, batch_id: str, role: str) -> str | None:
        return await self._state.hash_get(f"batch:{batch_id}", role)

    async def retake(self, batch_id: str, role: str, worker: str) -> None:
        await self._state.hash_set(f"batch:{batch_id}", role, worker)


def counts(results: dict[int, LineResult]) -> tuple[int, int]:
    ok = sum(1 for r in results.values() if r.ok)
    return ok, len(results) - ok


def as_builtins(value: Any) -> Any:
    return msgspec.to_builtins(value)
