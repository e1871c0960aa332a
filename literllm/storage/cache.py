"""The response cache for non-streaming chat completions and embeddings.

API used by the Proxy::

    cache = ResponseCache.from_config(config.cache, clock=clock)   # no I/O
    key = cache.key(endpoint="chat", model=alias, body=body, caller=key_hash)
    cached = await cache.get(key)          # bytes, or None on a miss; never raises
    await cache.set(key, response_bytes)   # only for 2xx answers; never raises
    cache.stats                            # CacheStats snapshot for metrics
    await cache.aclose()

The key (see `literllm.storage.cache_key`) covers endpoint, client-facing model, canonical
body and caller. The caller must be a stable hash of the calling key, never the raw
token.

Backends:

- `memory`: an in-process LRU (an `OrderedDict`, not OpenDAL's `memory` scheme, which
  has no recency order) bounded by `max_entries`; a hit refreshes recency; entries
  expire `ttl_seconds` after they were written, measured on `clock.monotonic()`.
- any other OpenDAL scheme (`fs`, `redis`, `s3`, ...): each entry is stored as a
  20-byte header (magic `LLC1`, expiry in epoch milliseconds on `clock.time()` with
  0 = never, body length) followed by the response bytes; the expiry is checked on
  read and an expired entry is a miss (deleted best-effort); a length mismatch (a
  torn write) is a miss too. `max_entries` does not apply there;
  the backend's own eviction does. For `redis`, `default_ttl` is set from
  `ttl_seconds` unless `backend_config` sets it, so Redis expires entries itself.

Failure: a backend that fails, times out (`operation_timeout_seconds`, real time) or is
down never fails a request. The operation counts as an error, `get` answers None, a
warning is logged at most once per `log_interval_seconds` on the clock (with the
number of failures it stands for), and the backend is skipped for
`retry_after_seconds` so a dead Redis does not add its connect timeout to every request.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections import OrderedDict
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol, TypeVar

from literllm.clock import Clock
from literllm.config.schema import CacheConfig
from literllm.errors import ConfigError
from literllm.storage.blob import build_operator
from literllm.storage.cache_key import response_cache_key

__all__ = [
    "BlobCacheStore",
    "BlobOperator",
    "CacheStats",
    "CacheStore",
    "MemoryCacheStore",
    "ResponseCache",
]

_log = logging.getLogger("literllm.storage.cache")
_T = TypeVar("_T")

_MAGIC = b"LLC1"
_HEADER = struct.Struct(">4sqQ")
_ENTRY_PREFIX = "literllm-cache/"


@dataclass(slots=True)
class CacheStats:
    """Counters for metrics; `ResponseCache.stats` returns a snapshot."""

    hits: int = 0
    misses: int = 0
    errors: int = 0
    writes: int = 0
    skipped: int = 0
    """Operations not attempted because the backend failed within `retry_after_seconds`."""


class CacheStore(Protocol):
    """Where entries live. Methods may raise; `ResponseCache` contains the failures."""

    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes) -> None: ...


class BlobOperator(Protocol):
    """The slice of `opendal.AsyncOperator` the cache uses (a seam for tests)."""

    def read(self, path: str, /) -> Awaitable[bytes]: ...

    def write(self, path: str, bs: bytes, /) -> Awaitable[None]: ...

    def delete(self, path: str, /) -> Awaitable[None]: ...


class MemoryCacheStore:
    """A true LRU: `max_entries` bound, a hit moves the entry to the most recent end."""

    def __init__(self, *, max_entries: int, ttl_seconds: float | None, clock: Clock) -> None:
        self._max_entries = max_entries
        self._ttl = ttl_seconds
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float | None, bytes]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    async def get(self, key: str) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires_at, value = entry
        if expires_at is not None and self._clock.monotonic() >= expires_at:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return value

    async def set(self, key: str, value: bytes) -> None:
        expires_at = None if self._ttl is None else self._clock.monotonic() + self._ttl
        self._entries[key] = (expires_at, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)


class BlobCacheStore:
    """Entries on an OpenDAL operator, each carrying its own expiry."""

    def __init__(
        self,
        operator: BlobOperator,
        *,
        ttl_seconds: float | None,
        clock: Clock,
        prefix: str = _ENTRY_PREFIX,
    ) -> None:
        self._operator = operator
        self._ttl = ttl_seconds
        self._clock = clock
        self._prefix = prefix

    async def get(self, key: str) -> bytes | None:
        path = self._prefix + key
        try:
            stored = await self._operator.read(path)
        except Exception as exc:
            if type(exc).__name__ == "NotFound":  # opendal.exceptions.NotFound
                return None
            raise
        if len(stored) < _HEADER.size:
            return None
        magic, expires_ms, length = _HEADER.unpack_from(stored)
        if magic != _MAGIC or length != len(stored) - _HEADER.size:
            return None  # not ours, or torn by a concurrent write on a non-atomic backend
        if expires_ms and self._clock.time() * 1000 >= expires_ms:
            try:
                await self._operator.delete(path)
            except Exception:  # best effort: the entry is a miss either way
                _log.debug("could not delete expired cache entry", exc_info=True)
            return None
        return stored[_HEADER.size :]

    async def set(self, key: str, value: bytes) -> None:
        expires_ms = 0 if self._ttl is None else int((self._clock.time() + self._ttl) * 1000)
        header = _HEADER.pack(_MAGIC, expires_ms, len(value))
        await self._operator.write(self._prefix + key, header + value)


class ResponseCache:
    """Get and set cached response bodies; backend failures never reach the caller."""

    def __init__(
        self,
        store: CacheStore,
        *,
        clock: Clock,
        backend: str,
        operation_timeout_seconds: float | None = 1.0,
        log_interval_seconds: float = 60.0,
        retry_after_seconds: float = 5.0,
    ) -> None:
        self._store = store
        self._clock = clock
        self.backend = backend
        self._timeout = operation_timeout_seconds
        self._log_interval = log_interval_seconds
        self._retry_after = retry_after_seconds
        self._stats = CacheStats()
        self._skip_until = float("-inf")
        self._last_logged: float | None = None
        self._unlogged_failures = 0
        self._closed = False

    @classmethod
    def from_config(
        cls,
        config: CacheConfig,
        *,
        clock: Clock,
        operation_timeout_seconds: float = 1.0,
    ) -> ResponseCache:
        """Build the cache the `[cache]` table describes; no I/O. Raises ConfigError."""
        if config.ttl_seconds == 0:
            raise ConfigError(
                "[cache] ttl_seconds = 0 would expire every entry at once: omit it to keep "
                "entries until evicted, or set a positive number of seconds."
            )
        ttl = None if config.ttl_seconds is None else float(config.ttl_seconds)
        if config.backend == "memory":
            if not config.max_entries:
                raise ConfigError(
                    '[cache] backend = "memory" needs max_entries (a positive number, '
                    "e.g. max_entries = 4096) to bound the in-process LRU."
                )
            memory = MemoryCacheStore(max_entries=config.max_entries, ttl_seconds=ttl, clock=clock)
            return cls(memory, clock=clock, backend="memory", operation_timeout_seconds=None)
        options: dict[str, Any] = dict(config.backend_config)
        if config.backend == "redis" and ttl is not None and "default_ttl" not in options:
            options["default_ttl"] = f"{config.ttl_seconds}s"
        operator = build_operator(config.backend, options, table="cache")
        store = BlobCacheStore(operator, ttl_seconds=ttl, clock=clock)
        return cls(
            store,
            clock=clock,
            backend=config.backend,
            operation_timeout_seconds=operation_timeout_seconds,
        )

    def key(self, *, endpoint: str, model: str, body: Mapping[str, Any], caller: str) -> str:
        """The SHA-256 hex key; see `literllm.storage.cache_key` for what it covers."""
        return response_cache_key(endpoint=endpoint, model=model, body=body, caller=caller)

    @property
    def stats(self) -> CacheStats:
        return replace(self._stats)

    async def get(self, key: str) -> bytes | None:
        """The cached body, or None on a miss, an expired entry or a failing backend."""
        value: bytes | None = None
        if self._backend_available():
            try:
                value = await self._bounded(self._store.get(key))
            except Exception as exc:
                self._record_failure("get", exc)
        if value is None:
            self._stats.misses += 1
        else:
            self._stats.hits += 1
        return value

    async def set(self, key: str, value: bytes) -> None:
        """Store a successful (2xx) response body; failures are logged and counted."""
        if not self._backend_available():
            return
        try:
            await self._bounded(self._store.set(key, value))
        except Exception as exc:
            self._record_failure("set", exc)
        else:
            self._stats.writes += 1

    async def aclose(self) -> None:
        """Stop using the backend; later calls behave as misses. Idempotent."""
        self._closed = True

    def _backend_available(self) -> bool:
        if self._closed:
            return False
        if self._clock.monotonic() < self._skip_until:
            self._stats.skipped += 1
            return False
        return True

    async def _bounded(self, operation: Awaitable[_T]) -> _T:
        if self._timeout is None:
            return await operation
        async with asyncio.timeout(self._timeout):
            return await operation

    def _record_failure(self, operation: str, exc: Exception) -> None:
        now = self._clock.monotonic()
        self._stats.errors += 1
        self._skip_until = now + self._retry_after
        self._unlogged_failures += 1
        if self._last_logged is not None and now - self._last_logged < self._log_interval:
            return
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        _log.warning(
            "response cache backend %r failed (%s: %s); serving from upstream. "
            "%d failure(s) since the last report; skipping the backend for %.0f s.",
            self.backend,
            operation,
            detail,
            self._unlogged_failures,
            self._retry_after,
        )
        self._last_logged = now
        self._unlogged_failures = 0
