"""`backend = "sqlite"`: state in one SQLite file; durable; shared by the processes of
one machine (`liter-llm api --workers N`). The dashboard's traffic counters
(`counters_add`) live in table `counters`.

All calls run on one dedicated thread per store, off the event loop. Each operation is
one `BEGIN IMMEDIATE` transaction: SQLite's write lock makes check-and-write atomic
across threads and processes, and every settle is committed before it returns. The
database runs in WAL mode; `synchronous` defaults to `NORMAL`, which keeps every commit
through a crash or SIGKILL of the gateway (the OS still has it); set
`[state.backend_config] synchronous = "full"` to also survive power loss, at the cost of
an fsync per commit.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from .base import (
    AMOUNT_EPSILON,
    Cap,
    CapShortfall,
    HashRecord,
    HitOutcome,
    ReserveOutcome,
    StateUnavailableError,
    WindowHit,
    WindowState,
    evaluate_window,
)

__all__ = ["SQLiteStateStore"]

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS window_entries (
    window TEXT NOT NULL, entry_id TEXT NOT NULL, ts REAL NOT NULL, amount INTEGER NOT NULL,
    PRIMARY KEY (window, entry_id)
);
CREATE INDEX IF NOT EXISTS window_entries_by_time ON window_entries (window, ts);
CREATE TABLE IF NOT EXISTS spend (cap TEXT PRIMARY KEY, amount REAL NOT NULL);
CREATE TABLE IF NOT EXISTS reservations (
    id TEXT NOT NULL, cap TEXT NOT NULL, amount REAL NOT NULL, expires_at REAL NOT NULL,
    PRIMARY KEY (id, cap)
);
CREATE INDEX IF NOT EXISTS reservations_by_cap ON reservations (cap, expires_at);
CREATE TABLE IF NOT EXISTS hashes (
    key TEXT NOT NULL, field TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (key, field)
);
CREATE TABLE IF NOT EXISTS counters (
    key TEXT NOT NULL, field TEXT NOT NULL, value REAL NOT NULL, expires_at REAL NOT NULL,
    PRIMARY KEY (key, field)
);
"""
_UPSERT = (
    "INSERT INTO hashes VALUES (?, ?, ?) "
    "ON CONFLICT (key, field) DO UPDATE SET value = excluded.value"
)

_SYNCHRONOUS = {"off": "OFF", "normal": "NORMAL", "full": "FULL", "extra": "EXTRA"}


class SQLiteStateStore:
    settles_without_suspending = False

    def __init__(
        self, path: str | Path, *, synchronous: str = "normal", busy_timeout_ms: int = 10_000
    ) -> None:
        mode = _SYNCHRONOUS.get(synchronous.lower())
        if mode is None:
            raise ValueError(
                f"[state.backend_config] synchronous must be one of {sorted(_SYNCHRONOUS)}"
            )
        self._path = str(path)
        self._synchronous = mode
        self._busy_timeout_ms = busy_timeout_ms
        self._executor: ThreadPoolExecutor | None = None
        self._db: sqlite3.Connection | None = None

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

    async def start(self) -> None:
        if self._executor is not None:
            return
        self._executor, self._db = await open_database(
            self._path,
            self._busy_timeout_ms,
            "literllm-sqlite",
            lambda db: _initialize(db, self._synchronous, self._busy_timeout_ms),
        )

    async def aclose(self) -> None:
        executor, db = self._executor, self._db
        self._executor = self._db = None
        await close_database(executor, db)

    async def hit(
        self, entry_id: str, hits: Sequence[WindowHit], *, now: float, window_seconds: float
    ) -> HitOutcome:
        def operation(db: sqlite3.Connection) -> HitOutcome:
            totals = [_prune_and_sum(db, hit.window, now, window_seconds) for hit in hits]
            wait = 0.0
            refused: list[str] = []
            for hit, total in zip(hits, totals, strict=True):
                fits, hit_wait = evaluate_window(
                    _entries(db, hit.window), total, hit, now=now, window_seconds=window_seconds
                )
                if not fits:
                    refused.append(hit.window)
                    wait = max(wait, hit_wait)
            if not refused:
                db.executemany(
                    "INSERT OR REPLACE INTO window_entries VALUES (?, ?, ?, ?)",
                    [(hit.window, entry_id, now, hit.amount) for hit in hits],
                )
                totals = [total + hit.amount for hit, total in zip(hits, totals, strict=True)]
            states = [
                WindowState(
                    hit.window, hit.limit, total, _reset_after(db, hit.window, now, window_seconds)
                )
                for hit, total in zip(hits, totals, strict=True)
            ]
            return HitOutcome(not refused, states, wait, refused)

        return await self._run(operation)

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
        def operation(db: sqlite3.Connection) -> ReserveOutcome:
            db.execute(
                "DELETE FROM reservations WHERE id = ? OR expires_at <= ?", (reservation_id, now)
            )
            shortfalls: list[CapShortfall] = []
            for cap in caps:
                (reserved,) = db.execute(
                    "SELECT COALESCE(SUM(amount), 0) FROM reservations WHERE cap = ?",
                    (cap.name,),
                ).fetchone()
                remaining = cap.limit - _spent(db, cap.name) - float(reserved)
                if amount > remaining + AMOUNT_EPSILON:
                    shortfalls.append(CapShortfall(cap.name, cap.limit, remaining))
            if shortfalls and enforce:
                return ReserveOutcome(False, shortfalls)
            db.executemany(
                "INSERT INTO reservations VALUES (?, ?, ?, ?)",
                [(reservation_id, cap.name, amount, expires_at) for cap in caps],
            )
            return ReserveOutcome(True, shortfalls)

        return await self._run(operation)

    async def renew(self, reservation_ids: Sequence[str], *, now: float, expires_at: float) -> None:
        def operation(db: sqlite3.Connection) -> None:
            db.executemany(
                "UPDATE reservations SET expires_at = ? WHERE id = ? AND expires_at > ?",
                [(expires_at, reservation_id, now) for reservation_id in reservation_ids],
            )

        await self._run(operation)

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
        def operation(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM reservations WHERE id = ?", (request_id,))
            if record is not None:
                db.execute(_UPSERT, (record.key, record.field, record.value))
            if cost:
                db.executemany(
                    "INSERT INTO spend VALUES (?, ?) "
                    "ON CONFLICT (cap) DO UPDATE SET amount = amount + excluded.amount",
                    [(name, cost) for name in spend],
                )
            for window, amount in tokens:
                db.execute(
                    "DELETE FROM window_entries WHERE window = ? AND entry_id = ?",
                    (window, request_id),
                )
                if amount > 0:
                    db.execute(
                        "INSERT INTO window_entries VALUES (?, ?, ?, ?)",
                        (window, request_id, now, amount),
                    )

        await self._run(operation)

    async def usage(
        self, windows: Sequence[str], *, now: float, window_seconds: float
    ) -> dict[str, int]:
        def operation(db: sqlite3.Connection) -> dict[str, int]:
            return {window: _prune_and_sum(db, window, now, window_seconds) for window in windows}

        return await self._run(operation)

    async def spend(self) -> dict[str, float]:
        def operation(db: sqlite3.Connection) -> dict[str, float]:
            return {
                str(cap): float(amount)
                for cap, amount in db.execute("SELECT cap, amount FROM spend")
            }

        return await self._run(operation)

    async def hash_set(self, key: str, field: str, value: str, *, only_new: bool = False) -> bool:
        def operation(db: sqlite3.Connection) -> bool:
            if only_new:
                cursor = db.execute(
                    "INSERT OR IGNORE INTO hashes VALUES (?, ?, ?)", (key, field, value)
                )
                return cursor.rowcount == 1
            db.execute(_UPSERT, (key, field, value))
            return True

        return await self._run(operation)

    async def hash_incr(self, key: str, field: str) -> int:
        def operation(db: sqlite3.Connection) -> int:
            row = db.execute(
                "INSERT INTO hashes VALUES (?, ?, '1') ON CONFLICT (key, field) DO UPDATE "
                "SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) RETURNING value",
                (key, field),
            ).fetchone()
            return int(row[0])

        return await self._run(operation)

    async def hash_get(self, key: str, field: str) -> str | None:
        def operation(db: sqlite3.Connection) -> str | None:
            row = db.execute(
                "SELECT value FROM hashes WHERE key = ? AND field = ?", (key, field)
            ).fetchone()
            return None if row is None else str(row[0])

        return await self._run(operation)

    async def hash_all(self, key: str) -> dict[str, str]:
        def operation(db: sqlite3.Connection) -> dict[str, str]:
            rows = db.execute("SELECT field, value FROM hashes WHERE key = ?", (key,))
            return {str(f): str(v) for f, v in rows}

        return await self._run(operation)

    async def counters_add(
        self, increments: Mapping[str, Mapping[str, int | float]], *, ttl_seconds: int
    ) -> None:
        """Add to the counters of several hashes (name -> field -> amount) in one
        transaction; a hash is dropped `ttl_seconds` (of the host's clock) after its last
        write, when the next write comes."""
        now = time.time()
        rows = [
            (key, field, float(amount), now + ttl_seconds)
            for key, fields in increments.items()
            for field, amount in fields.items()
        ]

        def operation(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM counters WHERE expires_at < ?", (now,))
            db.executemany(
                "INSERT INTO counters VALUES (?, ?, ?, ?) ON CONFLICT (key, field) DO UPDATE "
                "SET value = value + excluded.value, expires_at = excluded.expires_at",
                rows,
            )

        if rows:
            await self._run(operation)

    async def counters(self, keys: Sequence[str]) -> list[dict[str, float]]:
        """The counters of each hash of `keys` (empty for an absent one), in order."""
        now = time.time()

        def operation(db: sqlite3.Connection) -> list[dict[str, float]]:
            found: dict[str, dict[str, float]] = {}
            for start in range(0, len(keys), 500):  # within SQLite's variable limit
                chunk = keys[start : start + 500]
                rows = db.execute(
                    "SELECT key, field, value FROM counters WHERE expires_at >= ? AND key IN ("
                    + ",".join("?" * len(chunk))
                    + ")",
                    (now, *chunk),
                )
                for key, field, value in rows:
                    found.setdefault(str(key), {})[str(field)] = float(value)
            return [found.get(key, {}) for key in keys]

        return await self._run(operation)


def _initialize(db: sqlite3.Connection, synchronous: str, busy_timeout_ms: int) -> None:
    """WAL mode and the schema. Several workers opening a new file at once can get
    "database is locked" from the journal-mode switch without the busy handler being
    consulted, so the whole step is retried until the busy timeout."""
    db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    deadline = time.monotonic() + busy_timeout_ms / 1000
    delay = 0.005
    while True:
        try:
            (mode,) = db.execute("PRAGMA journal_mode").fetchone()
            if str(mode).lower() != "wal":
                db.execute("PRAGMA journal_mode = WAL")
            db.execute(f"PRAGMA synchronous = {synchronous}")
            db.execute("BEGIN IMMEDIATE")
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute("COMMIT")
            return
        except sqlite3.OperationalError as error:
            if db.in_transaction:
                db.execute("ROLLBACK")
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(delay)  # back off on this store's own thread, then retry
            delay = min(delay * 2, 0.2)


def _entries(db: sqlite3.Connection, window: str) -> Iterator[tuple[float, int]]:
    """The window's entries, oldest first; queried only if the caller iterates."""
    yield from db.execute(
        "SELECT ts, amount FROM window_entries WHERE window = ? ORDER BY ts", (window,)
    )


def _prune_and_sum(db: sqlite3.Connection, window: str, now: float, window_seconds: float) -> int:
    db.execute(
        "DELETE FROM window_entries WHERE window = ? AND ts <= ?", (window, now - window_seconds)
    )
    (total,) = db.execute(
        "SELECT COALESCE(SUM(amount), 0) FROM window_entries WHERE window = ?", (window,)
    ).fetchone()
    return int(total)


def _reset_after(db: sqlite3.Connection, window: str, now: float, window_seconds: float) -> float:
    (oldest,) = db.execute(
        "SELECT MIN(ts) FROM window_entries WHERE window = ?", (window,)
    ).fetchone()
    return 0.0 if oldest is None else max(float(oldest) + window_seconds - now, 0.0)


def _spent(db: sqlite3.Connection, cap: str) -> float:
    row = db.execute("SELECT amount FROM spend WHERE cap = ?", (cap,)).fetchone()
    return 0.0 if row is None else float(row[0])


async def open_database(
    path: str,
    busy_timeout_ms: int,
    thread_name: str,
    initialize: Callable[[sqlite3.Connection], object],
) -> tuple[ThreadPoolExecutor, sqlite3.Connection]:
    """Open `path` on a one-thread executor (every call on the connection runs there) and
    `initialize` it; `StateUnavailableError` when that fails."""
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=thread_name)

    def connect() -> sqlite3.Connection:
        db = sqlite3.connect(
            path, isolation_level=None, check_same_thread=False, timeout=busy_timeout_ms / 1000
        )
        try:
            initialize(db)
        except BaseException:
            db.close()
            raise
        return db

    try:
        db = await asyncio.get_running_loop().run_in_executor(executor, connect)
    except (sqlite3.Error, OSError) as error:
        executor.shutdown(wait=False)
        raise StateUnavailableError(
            f"cannot open the SQLite state store {path!r}: {error}"
        ) from error
    return executor, db


async def close_database(
    executor: ThreadPoolExecutor | None, db: sqlite3.Connection | None
) -> None:
    if executor is None or db is None:
        return
    await asyncio.get_running_loop().run_in_executor(executor, db.close)
    executor.shutdown(wait=True)
