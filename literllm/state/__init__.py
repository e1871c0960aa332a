"""Shared state for rate limits and budgets: one protocol, three backends.

`create_state_store(config.state)` builds the backend the `[state]` table names without
doing I/O; `await store.start()` opens the file or connects.

| backend | scope | durable | `[state.backend_config]` |
|---|---|---|---|
| `memory` (default) | one process | no | none |
| `sqlite` | the processes of one machine | yes | `path` (`liter-llm-state.db`), `synchronous` |
| `redis` | any processes and machines | as Redis persists | `url`, `prefix`, `timeout_secs` |
"""

from __future__ import annotations

import msgspec

from ..config.schema import StateConfig
from ..config.state_options import (
    DEFAULT_REDIS_URL,
    DEFAULT_STATE_PATH,
    RedisOptions,
    SqliteOptions,
    state_options,
)
from .base import (
    Cap,
    CapShortfall,
    HitOutcome,
    ReserveOutcome,
    StateStore,
    StateUnavailableError,
    WindowHit,
    WindowState,
)

__all__ = [
    "DEFAULT_REDIS_URL",
    "DEFAULT_STATE_PATH",
    "Cap",
    "CapShortfall",
    "HitOutcome",
    "ReserveOutcome",
    "StateStore",
    "StateUnavailableError",
    "WindowHit",
    "WindowState",
    "create_state_store",
]


def create_state_store(config: StateConfig) -> StateStore:
    """The store `[state]` describes; raises `ValueError` on an unknown or mistyped
    option."""
    try:
        options = state_options(config)
    except msgspec.ValidationError as error:
        detail = str(error).replace("Object contains unknown field", "unknown option")
        where = f"[state.backend_config] for backend {config.backend!r}"
        raise ValueError(f"{where}: {detail}") from None
    if isinstance(options, SqliteOptions):
        from .sqlite import SQLiteStateStore

        return SQLiteStateStore(options.path, synchronous=options.synchronous)
    if isinstance(options, RedisOptions):
        from .redis import RedisStateStore

        return RedisStateStore(
            options.url, prefix=options.prefix, timeout_secs=options.timeout_secs
        )
    from .memory import MemoryStateStore

    return MemoryStateStore()
