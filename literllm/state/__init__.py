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

from ..config.checks import STATE_OPTIONS
from ..config.schema import StateConfig
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
    "DEFAULT_SQLITE_PATH",
    "Cap",
    "CapShortfall",
    "HitOutcome",
    "ReserveOutcome",
    "StateStore",
    "StateUnavailableError",
    "WindowHit",
    "WindowState",
    "create_state_store",
    "is_shared",
]

DEFAULT_SQLITE_PATH = "liter-llm-state.db"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"

_OPTIONS = STATE_OPTIONS


def is_shared(config: StateConfig) -> bool:
    """Whether several processes may share this store (`--workers N` needs it)."""
    return config.backend != "memory"


def create_state_store(config: StateConfig) -> StateStore:
    """The store `[state]` describes; raises `ValueError` on an unknown option."""
    unknown = sorted(set(config.backend_config) - _OPTIONS[config.backend])
    if unknown:
        raise ValueError(
            f"[state.backend_config] has unknown option(s) {unknown} for backend "
            f"{config.backend!r}; allowed: {sorted(_OPTIONS[config.backend]) or 'none'}"
        )
    options = config.backend_config
    if config.backend == "sqlite":
        from .sqlite import SQLiteStateStore

        return SQLiteStateStore(
            str(options.get("path", DEFAULT_SQLITE_PATH)),
            synchronous=str(options.get("synchronous", "normal")),
        )
    if config.backend == "redis":
        from .redis import RedisStateStore

        return RedisStateStore(
            str(options.get("url", DEFAULT_REDIS_URL)),
            prefix=str(options.get("prefix", "literllm:")),
            timeout_secs=float(options.get("timeout_secs", 2.0)),
        )
    from .memory import MemoryStateStore

    return MemoryStateStore()
