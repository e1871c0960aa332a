"""Fixtures for governance tests: a fake clock, a real redis-server, and one state store
per backend (`memory`, `sqlite` in tmp_path, `redis` on its own key prefix)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from governance_support import BACKENDS, FakeClock, GovernorFactory, free_port, priced_table

from literllm.config.schema import Config
from literllm.governance import Governor
from literllm.state import StateStore
from literllm.state.memory import MemoryStateStore
from literllm.state.redis import RedisStateStore
from literllm.state.sqlite import SQLiteStateStore


def _wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"redis-server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)  # waiting for a child process to listen, not for time
    raise RuntimeError("redis-server did not start listening within 10 s")


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    binary = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
    )
    if binary is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(port, process)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


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
