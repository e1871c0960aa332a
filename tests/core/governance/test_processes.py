"""Real processes: spend survives SIGKILL on SQLite; limits hold across processes."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import uuid
from pathlib import Path
from typing import Any

import msgspec
import pytest

from literllm.config.schema import Config
from literllm.governance.governor import Governor

from .governance_support import FakeClock, priced_table

WORKER = Path(__file__).with_name("governance_worker.py")


async def _run_workers(config: dict[str, Any], counts: list[int]) -> list[dict[str, int]]:
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            str(WORKER),
            "admit",
            json.dumps(config),
            str(count),
            stdout=asyncio.subprocess.PIPE,
        )
        for count in counts
    ]
    outputs = await asyncio.wait_for(
        asyncio.gather(*(process.communicate() for process in processes)), timeout=60
    )
    for process in processes:
        assert process.returncode == 0
    return [json.loads(stdout) for stdout, _ in outputs]


async def test_sqlite_spend_survives_sigkill(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    config = {"state": {"backend": "sqlite", "backend_config": {"path": str(path)}}}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(WORKER),
        "settle-and-hang",
        json.dumps(config),
        "3",
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), timeout=30)
        assert line.strip() == b"settled"
    finally:
        process.send_signal(signal.SIGKILL)
        await asyncio.wait_for(process.wait(), timeout=10)
    assert process.returncode == -signal.SIGKILL
    governor = Governor.from_config(
        msgspec.convert(config, Config), clock=FakeClock(), pricing=priced_table()
    )
    await governor.start()
    snapshot = await governor.snapshot()
    await governor.aclose()
    assert snapshot.global_.spend == pytest.approx(0.6)
    assert snapshot.master.spend == pytest.approx(0.6)


@pytest.mark.parametrize("backend", ["redis", "sqlite"])
async def test_rpm_holds_across_processes(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    options: dict[str, Any] = (
        {"url": request.getfixturevalue("redis_url"), "prefix": f"mp-{uuid.uuid4().hex[:8]}:"}
        if backend == "redis"
        else {"path": str(tmp_path / "state.db")}
    )
    config = {
        "keys": [{"key": "vk-shared", "rpm": 30}],
        "state": {"backend": backend, "backend_config": options},
    }
    results = await _run_workers(config, [20, 20, 20])
    assert sum(result["admitted"] for result in results) == 30
    assert sum(result["rate_limited"] for result in results) == 30


@pytest.mark.parametrize("backend", ["redis", "sqlite"])
async def test_budget_holds_across_processes(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    options: dict[str, Any] = (
        {"url": request.getfixturevalue("redis_url"), "prefix": f"mp-{uuid.uuid4().hex[:8]}:"}
        if backend == "redis"
        else {"path": str(tmp_path / "state.db")}
    )
    config = {
        "keys": [{"key": "vk-shared", "budget_limit": 1.0}],  # exactly 5 requests of $0.2
        "state": {"backend": backend, "backend_config": options},
    }
    results = await _run_workers(config, [4, 4, 4])
    assert sum(result["admitted"] for result in results) == 5
    assert sum(result["over_budget"] for result in results) == 7
