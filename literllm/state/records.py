"""Small documents in the state backend: runtime keys and, later, other operator data.

A *table* holds records (`id -> bytes`) and a version number that every change to the
table increments, atomically with the change. A process that caches a table needs only
compare the version to know whether anything changed anywhere: one cheap read.

`create_record_store(config.state)` builds the store `[state]` names, beside the
`StateStore` of counters: the same Redis (its own keys under the same `prefix`) or the
same SQLite file (its own tables). `memory` keeps records in this process only.
"""

from __future__ import annotations

from typing import Protocol

from ..config.schema import StateConfig
from ..config.state_options import RedisOptions, SqliteOptions, state_options

__all__ = ["MemoryRecordStore", "RecordStore", "create_record_store"]


class RecordStore(Protocol):
    shared: bool
    """True when other processes see the same records (sqlite, redis)."""

    async def start(self) -> None:
        """Open or connect; raise `StateUnavailableError` when that fails."""

    async def aclose(self) -> None: ...

    async def put(
        self, table: str, record_id: str, value: bytes, *, only_new: bool = False
    ) -> bool:
        """Store `value` and increment the table's version. With `only_new`, store
        nothing and return False when the id is taken."""

    async def add_bounded(self, table: str, record_id: str, limit: int) -> bool:
        """Add an empty record `record_id` when the table holds fewer than `limit`
        records; True when the id is in the table afterwards. Does not change the
        version (for sets that nobody caches whole)."""

    async def delete(self, table: str, record_id: str) -> bool:
        """Remove the record (incrementing the version); False when it did not exist."""

    async def get(self, table: str, record_id: str) -> bytes | None: ...

    async def all(self, table: str) -> tuple[int, dict[str, bytes]]:
        """The table's version and every record, read together."""

    async def version(self, table: str) -> int: ...


class MemoryRecordStore:
    shared = False

    def __init__(self) -> None:
        self._tables: dict[str, dict[str, bytes]] = {}
        self._versions: dict[str, int] = {}

    async def start(self) -> None:
        return None

    async def aclose(self) -> None:
        return None

    async def put(
        self, table: str, record_id: str, value: bytes, *, only_new: bool = False
    ) -> bool:
        records = self._tables.setdefault(table, {})
        if only_new and record_id in records:
            return False
        records[record_id] = value
        self._versions[table] = self._versions.get(table, 0) + 1
        return True

    async def add_bounded(self, table: str, record_id: str, limit: int) -> bool:
        records = self._tables.setdefault(table, {})
        if record_id not in records:
            if len(records) >= limit:
                return False
            records[record_id] = b""
        return True

    async def delete(self, table: str, record_id: str) -> bool:
        records = self._tables.get(table, {})
        if records.pop(record_id, None) is None:
            return False
        self._versions[table] = self._versions.get(table, 0) + 1
        return True

    async def get(self, table: str, record_id: str) -> bytes | None:
        return self._tables.get(table, {}).get(record_id)

    async def all(self, table: str) -> tuple[int, dict[str, bytes]]:
        return self._versions.get(table, 0), dict(self._tables.get(table, {}))

    async def version(self, table: str) -> int:
        return self._versions.get(table, 0)


def create_record_store(config: StateConfig) -> RecordStore:
    """The record store of the backend `[state]` names (options checked as for the
    `StateStore`); no I/O."""
    options = state_options(config)
    if isinstance(options, SqliteOptions):
        from .records_sqlite import SQLiteRecordStore

        return SQLiteRecordStore(options.path)
    if isinstance(options, RedisOptions):
        from .records_redis import RedisRecordStore

        return RedisRecordStore(
            options.url, prefix=options.prefix, timeout_secs=options.timeout_secs
        )
    return MemoryRecordStore()
