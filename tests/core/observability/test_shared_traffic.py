"""Traffic counts added up across processes through a real Redis (two proxies here)."""

from __future__ import annotations

import uuid

from literllm import Proxy
from literllm.config import parse_config
from literllm.outcome import Outcome
from literllm.testing import FakeClock, FakeUpstream
from literllm.types import Usage
from tests.support.services import (  # noqa: F401 (fixtures)
    RedisServer,
    redis_process_fixture,
    redis_url_fixture,
)

MASTER = "sk-master-shared-0001"


def proxy_on(url: str, prefix: str, clock: FakeClock) -> Proxy:
    toml = f"""
[general]
master_key = "{MASTER}"

[[models]]
name = "chat"
provider_model = "mock/echo"

[state]
backend = "redis"

[state.backend_config]
url = "{url}"
prefix = "{prefix}"
"""
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


async def test_two_processes_see_the_same_counts(redis_url: str) -> None:
    clock = FakeClock(1_800_000_010.0)
    prefix = f"test-{uuid.uuid4().hex[:8]}:"
    async with proxy_on(redis_url, prefix, clock) as one, proxy_on(redis_url, prefix, clock) as two:
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
    async with proxy_on(redis_process.url, "t:", clock) as proxy:
        record(proxy, finished(200, 3), 10.0)
        redis_process.stop()
        report = await proxy.admin.traffic(api_key=MASTER)
        assert report.shared is False
        assert report.buckets[-1].requests == 1 and report.buckets[-1].prompt_tokens == 3
