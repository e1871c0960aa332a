"""Fixtures for governance tests: a fake clock, a real redis-server, and one state store
per backend (`memory`, `sqlite` in tmp_path, `redis` on its own key prefix)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from literllm.config.schema import Config
from literllm.governance.governor import Governor
from literllm.state import StateStore
from literllm.state.memory import MemoryStateStore
from literllm.state.redis import RedisStateStore
from literllm.state.sqlite import SQLiteStateStore
from tests.support.services import redis_url_fixture  # noqa: F401 (the redis_url fixture)

from .governance_support import (
    BACKENDS,
    FakeClock,
    GovernorFactory,
    priced_table,
)


def make_store(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> StateStore:
    if backend == "memory":
        return MemoryStateStore()
    if backend == "sqlite":
        return SQLiteStateStore(tmp_path / "state.db")
    url = request.getfixturevalue("redis_url")
    return RedisStateStore(url, prefix=f"test-{uuid.uuid4().hex[:8]}:")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def store(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[StateStore]:
    made = make_store(backend, tmp_path, request)
    await made.start()
    yield made
    await made.aclose()


@pytest.fixture
def make_governor(store: StateStore, clock: FakeClock) -> GovernorFactory:
    """`make_governor(keys=[...], rate_limit={...}, budget={...})` on the test's store."""

    def build(**tables: Any) -> Governor:
        config = msgspec.convert(tables, Config)
        return Governor.from_config(config, clock=clock, pricing=priced_table(), store=store)

    return build
