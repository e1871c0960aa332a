"""Records in the SQLite state file: tables `records` and `record_versions`, written in
one `BEGIN IMMEDIATE` transaction each, on a dedicated thread."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from .base import StateUnavailableError
from .sqlite import close_database, open_database

__all__ = ["SQLiteRecordStore"]

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    tbl TEXT NOT NULL, id TEXT NOT NULL, value BLOB NOT NULL, PRIMARY KEY (tbl, id)
);
CREATE TABLE IF NOT EXISTS record_versions (tbl TEXT PRIMARY KEY, n INTEGER NOT NULL);
"""


def _bump(db: sqlite3.Connection, table: str) -> None:
    db.execute(
        "INSERT INTO record_versions (tbl, n) VALUES (?, 1) "
        "ON CONFLICT (tbl) DO UPDATE SET n = n + 1",
        (table,),
    )


def _version(db: sqlite3.Connection, table: str) -> int:
    row = db.execute("SELECT n FROM record_versions WHERE tbl = ?", (table,)).fetchone()
    return int(row[0]) if row else 0


class SQLiteRecordStore:
    shared = True

    def __init__(self, path: str | Path, *, busy_timeout_ms: int = 10_000) -> None:
        self._path = str(path)
        self._busy_timeout_ms = busy_timeout_ms
        self._executor: ThreadPoolExecutor | None = None
        self._db: sqlite3.Connection | None = None

    async def start(self) -> None:
        if self._executor is not None:
            return
        self._executor, self._db = await open_database(
            self._path, self._busy_timeout_ms, "literllm-records", _create_schema
        )

    async def aclose(self) -> None:
        executor, db = self._executor, self._db
        self._executor = self._db = None
        await close_database(executor, db)

    async def _run(self, operation: Callable[[sqlite3.Connection], T]) -> T:
        if self._executor is None or self._db is None:
            raise StateUnavailableError("the SQLite state store is not started")
        db = self._db

        def call() -> T:
            try:
                db.execute("BEGIN IMMEDIATE")
                try:
                    result = operation(db)
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
                db.execute("COMMIT")
                return result
            except sqlite3.Error as error:
                raise StateUnavailableError(
                    f"SQLite state store {self._path!r} failed: {error}"
                ) from error

        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    async def put(
        self, table: str, record_id: str, value: bytes, *, only_new: bool = False
    ) -> bool:
        def operation(db: sqlite3.Connection) -> bool:
            verb = "INSERT OR IGNORE" if only_new else "INSERT OR REPLACE"
            cursor = db.execute(
                f"{verb} INTO records (tbl, id, value) VALUES (?, ?, ?)", (table, record_id, value)
            )
            if cursor.rowcount == 0:
                return False
            _bump(db, table)
            return True

        return await self._run(operation)

    async def add_bounded(self, table: str, record_id: str, limit: int) -> bool:
        def operation(db: sqlite3.Connection) -> bool:
            found = db.execute(
                "SELECT 1 FROM records WHERE tbl = ? AND id = ?", (table, record_id)
            ).fetchone()
            if found:
                return True
            (count,) = db.execute("SELECT COUNT(*) FROM records WHERE tbl = ?", (table,)).fetchone()
            if count >= limit:
                return False
            db.execute(
                "INSERT INTO records (tbl, id, value) VALUES (?, ?, ?)", (table, record_id, b"")
            )
            return True

        return await self._run(operation)

    async def delete(self, table: str, record_id: str) -> bool:
        def operation(db: sqlite3.Connection) -> bool:
            cursor = db.execute("DELETE FROM records WHERE tbl = ? AND id = ?", (table, record_id))
            if cursor.rowcount == 0:
                return False
            _bump(db, table)
            return True

        return await self._run(operation)

    async def get(self, table: str, record_id: str) -> bytes | None:
        def operation(db: sqlite3.Connection) -> bytes | None:
            row = db.execute(
                "SELECT value FROM records WHERE tbl = ? AND id = ?", (table, record_id)
            ).fetchone()
            return bytes(row[0]) if row else None

        return await self._run(operation)

    async def all(self, table: str) -> tuple[int, dict[str, bytes]]:
        def operation(db: sqlite3.Connection) -> tuple[int, dict[str, bytes]]:
            rows = db.execute("SELECT id, value FROM records WHERE tbl = ?", (table,))
            records = {str(i): bytes(v) for i, v in rows}
            return _version(db, table), records

        return await self._run(operation)

    async def version(self, table: str) -> int:
        return await self._run(lambda db: _version(db, table))


def _create_schema(db: sqlite3.Connection) -> None:
    db.execute("PRAGMA journal_mode=WAL")
    db.executescript(_SCHEMA)
