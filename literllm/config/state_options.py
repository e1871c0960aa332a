"""`[state.backend_config]`: one typed table of options per state backend."""

from __future__ import annotations

from typing import Literal

import msgspec

from .schema import StateConfig

__all__ = [
    "DEFAULT_REDIS_URL",
    "DEFAULT_STATE_PATH",
    "MemoryOptions",
    "RedisOptions",
    "SqliteOptions",
    "StateOptions",
    "state_options",
    "state_options_type",
]

DEFAULT_STATE_PATH = "liter-llm-state.db"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


class MemoryOptions(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The in-process store takes no options."""


class SqliteOptions(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    path: str = DEFAULT_STATE_PATH
    synchronous: Literal["off", "normal", "full", "extra"] = "normal"


class RedisOptions(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    url: str = DEFAULT_REDIS_URL
    prefix: str = "literllm:"
    timeout_secs: float = 2.0


StateOptions = MemoryOptions | SqliteOptions | RedisOptions

_TYPES: dict[str, type[StateOptions]] = {
    "memory": MemoryOptions,
    "sqlite": SqliteOptions,
    "redis": RedisOptions,
}


def state_options_type(backend: str) -> type[StateOptions]:
    return _TYPES[backend]


def state_options(config: StateConfig) -> StateOptions:
    """The backend's options, typed; raises `msgspec.ValidationError` (the config
    checks turn it into a located problem first)."""
    return msgspec.convert(config.backend_config, _TYPES[config.backend])
