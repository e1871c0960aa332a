"""Providers that speak their own wire format, by registry name.

Each factory returns a fresh sans-I/O adapter; modules are imported when a `Proxy`
is built, not when `literllm` is imported.
"""

from __future__ import annotations

from collections.abc import Callable

from .base import Adapter

__all__ = ["native_adapters"]


def native_adapters() -> dict[str, Callable[[], Adapter]]:
    from .mock import MockAdapter

    return {
        "mock": MockAdapter,
    }
