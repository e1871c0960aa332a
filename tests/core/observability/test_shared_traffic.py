"""Traffic counts added up across processes (two proxies here) through a real Redis or
one SQLite file."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from literllm import Proxy
from literllm.config import parse_config
from literllm.observability.traffic import Traffic
from literllm.outcome import Outcome
from literllm.state.base import StateUnavailableError
from literllm.state.sharedtraffic import SharedTraffic
from literllm.testing import FakeClock, FakeUpstream
from literllm.types import Usage
from tests.support.services import (  # noqa: F401 (fixtures)
    RedisServer,
    redis_process_fixture,
    redis_url_fixture,
)

MASTER = "sk-master-shared-0001"


def redis_state(url: str, prefix: str) -> str:
    return f"""
[state]
backend = "redis"

[state.backend_config]
url = "{url}"
prefix = "{prefix}"
"""


def proxy_on(state: str, clock: FakeClock) -> Proxy:
    toml = f"""
[general]
master_key = "{MASTER}"

[[models]]
name = "chat"
provider_model = "mock/echo"
{state}"""
    config = parse_config(toml, "shared.toml", environ={})
    return Proxy.from_config(config, transport=FakeUpstream(clock), clock=clock, environ={})


def finished(status: int, tokens: int = 0, cost: float = 0.0) -> Outcome:
    outcome = Outcome()
    outcome.status = status
    outcome.usage = Usage(prompt_tokens=tokens, completion_tokens=1, total_tokens=tokens + 1)
    outcome.cost = cost
    return outcome


def record(proxy: Proxy, outcome: Outcome, ms: float) -> None:
    proxy.traffic.record(
        outcome, request_id="r", endpoint="/v1/chat/completions", arrived=0.0, seconds=ms / 1000
    )


@pytest.fixture(params=["redis", "sqlite"])
def shared_state(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f'[state]\nbackend = "sqlite"\n[state.backend_config]\npath = "{tmp_path}/s.db"\n'
    url = request.getfixturevalue("redis_url")
    return redis_state(url, f"test-{uuid.uuid4().hex[:8]}:")


async def test_two_processes_see_the_same_counts(shared_state: str) -> None:
    clock = FakeClock(1_800_000_010.0)
    async with (
        proxy_on(shared_state, clock) as one,
        proxy_on(shared_state, clock) as two,
    ):
        record(one, finished(200, 10, 0.5), 10.0)
        record(one, finished(500), 20.0)
        record(two, finished(200, 5, 0.25), 1000.0)
        # each process hands its counts over when it reads (or every 5 s): before two
        # has, one sees only its own
        assert (await one.admin.traffic(api_key=MASTER)).totals.requests == 2
        assert (await two.admin.traffic(api_key=MASTER)).totals.requests == 3
        seen_by_one = await one.admin.traffic(api_key=MASTER)
        seen_by_two = await two.admin.traffic(api_key=MASTER)
        for report in (seen_by_one, seen_by_two):
            assert report.shared is True
            last = report.buckets[-1]
            assert (last.requests, last.errors, last.prompt_tokens) == (3, 1, 15)
            assert last.completion_tokens == 3 and last.cost_usd == 0.75
            assert report.totals.requests == 3
        # percentiles are each process's own
        assert seen_by_one.totals.p99_ms is not None and seen_by_one.totals.p99_ms < 25
        assert seen_by_two.totals.p50_ms is not None and seen_by_two.totals.p50_ms > 900
        # reading again hands nothing over twice
        again = await one.admin.traffic(api_key=MASTER)
        assert again.buckets[-1].requests == 3
        day = await two.admin.traffic(api_key=MASTER, window="24h")
        assert day.shared and day.totals.requests == 3 and day.totals.errors == 1

        clock.advance(60)
        record(two, finished(429), 5.0)
        await two.admin.traffic(api_key=MASTER)
        later = await one.admin.traffic(api_key=MASTER)
        assert [b.requests for b in later.buckets[-2:]] == [3, 1]
        assert (await one.admin.traffic(api_key=MASTER, window="24h")).totals.requests == 4


async def test_an_unreachable_redis_falls_back_to_this_process(redis_process: RedisServer) -> None:
    clock = FakeClock(1_800_000_010.0)
    async with proxy_on(redis_state(redis_process.url, "t:"), clock) as proxy:
        record(proxy, finished(200, 3), 10.0)
        redis_process.stop()
        report = await proxy.admin.traffic(api_key=MASTER)
        assert report.shared is False
        assert report.buckets[-1].requests == 1 and report.buckets[-1].prompt_tokens == 3


class FlakyStore:
    """A counter store that is down until told otherwise, adding up like Redis."""

    def __init__(self) -> None:
        self.down = True
        self.hashes: dict[str, dict[str, float]] = {}
        self.writes = 0

    async def counters_add(
        self, increments: Mapping[str, Mapping[str, int | float]], *, ttl_seconds: int
    ) -> None:
        if self.down:
            raise StateUnavailableError("down")
        self.writes += 1
        for key, fields in increments.items():
            target = self.hashes.setdefault(key, {})
            for name, amount in fields.items():
                target[name] = target.get(name, 0.0) + amount

    async def counters(self, keys: Sequence[str]) -> list[dict[str, float]]:
        if self.down:
            raise StateUnavailableError("down")
        return [dict(self.hashes.get(key, {})) for key in keys]


async def test_counts_wait_while_the_store_is_down_and_are_handed_over_once() -> None:
    clock = FakeClock(1_800_000_010.0)
    traffic = Traffic(clock)
    store = FlakyStore()
    shared = SharedTraffic(traffic, store, clock)
    traffic.record(finished(200, 4), request_id="a", endpoint="/v1/x", arrived=0.0, seconds=0.01)
    assert await shared.flush() is False
    assert (await shared.report("1h")).shared is False
    clock.advance(60)
    traffic.record(finished(503), request_id="b", endpoint="/v1/x", arrived=0.0, seconds=0.01)
    store.down = False
    report = await shared.report("1h")
    assert report.shared is True
    assert [b.requests for b in report.buckets[-2:]] == [1, 1]
    assert report.totals.errors == 1 and report.totals.prompt_tokens == 4
    assert await shared.flush() is True
    assert (await shared.report("24h")).totals.requests == 2  # nothing counted twice
    assert store.hashes["traffic:q:1800000000"]["requests"] == 2
    clock.advance(7200)  # counts older than the hour that never reached the store are dropped
    store.down = True
    traffic.record(finished(200), request_id="c", endpoint="/v1/x", arrived=0.0, seconds=0.01)
    await shared.flush()
    clock.advance(3700)
    store.down = False
    await shared.flush()
    assert "traffic:m:1800007260" not in store.hashes
