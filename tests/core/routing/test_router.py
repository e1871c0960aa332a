"""Pools, retries, fallbacks, cooldown and stream failover, on the fake clock."""

from __future__ import annotations

import contextlib

import msgspec
import pytest

from literllm import Proxy, ServiceUnavailableError, UpstreamError
from literllm.config import Config
from literllm.providers import ProviderRegistry
from literllm.routing.resolve import Resolver
from literllm.routing.router import Deployment, Router
from literllm.testing import Delay, Fail, FakeClock, FakeUpstream, Reply, StreamReply
from tests.support.configs import MASTER, config

CHAT = {"messages": [{"role": "user", "content": "hi"}]}


def pool(*urls: str, extra: str = "", name: str = "m", fallbacks: str = "") -> str:
    text = ""
    for url in urls:
        text += (
            f'[[models]]\nname = "{name}"\nprovider_model = "openai/gpt-4o"\n'
            f'api_key = "sk-x"\nbase_url = "https://{url}/v1"\n{fallbacks}\n'
        )
    return text + extra


async def run(
    cfg: Config, upstream: FakeUpstream, clock: FakeClock, model: str = "m", stream: bool = False
) -> object:
    async with Proxy.from_config(cfg, transport=upstream, clock=clock, environ={}) as proxy:
        if stream:
            s = await proxy.chat_stream({**CHAT, "model": model, "stream": True}, api_key=MASTER)
            return [c async for c in s]
        return await proxy.chat({**CHAT, "model": model}, api_key=MASTER)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def upstream(clock: FakeClock) -> FakeUpstream:
    return FakeUpstream(clock)


def hosts(upstream: FakeUpstream) -> list[str]:
    return [r.url.split("/")[2] for r in upstream.requests]


async def test_round_robin_spreads_across_pool(clock: FakeClock, upstream: FakeUpstream) -> None:
    cfg = config(pool("a.test", "b.test"))
    async with Proxy.from_config(cfg, transport=upstream, clock=clock, environ={}) as proxy:
        for _ in range(4):
            await proxy.chat({**CHAT, "model": "m"}, api_key=MASTER)
    assert sorted(hosts(upstream)) == ["a.test", "a.test", "b.test", "b.test"]


@pytest.mark.parametrize("status", [500, 503, 502])
async def test_transient_errors_are_retried_up_to_max_retries(
    status: int, clock: FakeClock, upstream: FakeUpstream
) -> None:
    upstream.script(*[Reply(status)] * 3)
    answer = await run(config(pool("a.test")), upstream, clock)
    assert len(upstream.requests) == 4
    assert answer.headers["x-literllm-attempts"] == "4"  # type: ignore[attr-defined]
    upstream.script(*[Reply(status)] * 4)
    with pytest.raises(UpstreamError):
        await run(config(pool("a.test")), upstream, clock)
    assert len(upstream.requests) == 4 + 4


@pytest.mark.parametrize("status", [400, 401, 404, 422])
async def test_client_errors_are_not_retried(
    status: int, clock: FakeClock, upstream: FakeUpstream
) -> None:
    upstream.script(Reply(status, json={"error": {"message": "no"}}))
    with pytest.raises(UpstreamError):
        await run(
            config(
                pool("a.test", extra=f'[general]\nmaster_key = "{MASTER}"\nmax_retries = 5\n'),
                master=False,
            ),
            upstream,
            clock,
        )
    assert len(upstream.requests) == 1


async def test_retry_after_is_honoured(clock: FakeClock, upstream: FakeUpstream) -> None:
    upstream.script(Reply(429, headers={"retry-after": "7"}))
    await run(config(pool("a.test")), upstream, clock)
    assert clock.sleeps == [7.0]
    assert len(upstream.requests) == 2


@pytest.mark.parametrize(
    ("headers", "expected"), [({"retry-after": "7"}, "7"), ({"retry-after-ms": "1500"}, "2")]
)
async def test_upstream_retry_after_reaches_the_client_when_retries_run_out(
    clock: FakeClock, upstream: FakeUpstream, headers: dict[str, str], expected: str
) -> None:
    upstream.script(*[Reply(429, headers=headers)] * 4)
    with pytest.raises(UpstreamError) as caught:
        await run(config(pool("a.test")), upstream, clock)
    assert len(upstream.requests) == 4
    assert caught.value.status == 429
    assert caught.value.headers == {"retry-after": expected}


async def test_no_retry_after_without_a_hint(clock: FakeClock, upstream: FakeUpstream) -> None:
    upstream.script(*[Reply(429)] * 4)
    with pytest.raises(UpstreamError) as caught:
        await run(config(pool("a.test")), upstream, clock)
    assert "retry-after" not in caught.value.headers


async def test_retry_after_is_capped(clock: FakeClock, upstream: FakeUpstream) -> None:
    upstream.script(Reply(429, headers={"retry-after": "3600"}))
    await run(
        config(pool("a.test", extra="[routing]\nretry_after_max_secs = 10\n")), upstream, clock
    )
    assert clock.sleeps == [10.0]


async def test_backoff_grows_and_is_capped(clock: FakeClock, upstream: FakeUpstream) -> None:
    upstream.script(*[Reply(500)] * 5)
    cfg = config(
        pool(
            "a.test",
            extra='[general]\nmaster_key = "' + MASTER + '"\n'
            "max_retries = 5\n[routing]\nbackoff_base_secs = 1\nbackoff_max_secs = 3\n",
        ),
        master=False,
    )
    await run(cfg, upstream, clock)
    assert len(clock.sleeps) == 5
    bounds = [1, 2, 3, 3, 3]
    for slept, ceiling in zip(clock.sleeps, bounds, strict=True):
        assert ceiling / 2 <= slept <= ceiling


async def test_failed_deployment_moves_to_another_without_waiting(
    clock: FakeClock, upstream: FakeUpstream
) -> None:
    upstream.script(Reply(503), url="a.test")
    upstream.script(Reply(503), url="b.test")
    cfg = config(pool("a.test", "b.test"))
    async with Proxy.from_config(cfg, transport=upstream, clock=clock, environ={}) as proxy:
        await proxy.chat({**CHAT, "model": "m"}, api_key=MASTER)
    assert sorted(hosts(upstream)[:2]) == ["a.test", "b.test"]
    assert len(clock.sleeps) == 1  # only the third attempt, back on a tried deployment


FALLBACKS = """
[[models]]
name = "primary"
provider_model = "openai/gpt-4o"
api_key = "sk-x"
base_url = "https://primary.test/v1"
fallbacks = ["second", "third"]

[[models]]
name = "second"
provider_model = "openai/gpt-4o-mini"
api_key = "sk-x"
base_url = "https://second.test/v1"

[[models]]
name = "third"
provider_model = "openai/gpt-4.1"
api_key = "sk-x"
base_url = "https://third.test/v1"

[general]
master_key = "sk-master-test-0001"
max_retries = 0
"""


async def test_fallbacks_in_order(clock: FakeClock, upstream: FakeUpstream) -> None:
    upstream.script(Reply(503), url="primary.test")
    upstream.script(Fail("connect"), url="second.test")
    answer = await run(config(FALLBACKS, master=False), upstream, clock, model="primary")
    assert hosts(upstream) == ["primary.test", "second.test", "third.test"]
    assert answer.headers["x-literllm-route"] == "third#3"  # type: ignore[attr-defined]
    assert answer.headers["x-literllm-provider-model"] == "openai/gpt-4.1"  # type: ignore[attr-defined]
    assert upstream.bodies()[-1]["model"] == "gpt-4.1"


async def test_no_fallback_after_client_error(clock: FakeClock, upstream: FakeUpstream) -> None:
    upstream.script(Reply(400, json={"error": {"message": "bad"}}), url="primary.test")
    with pytest.raises(UpstreamError) as caught:
        await run(config(FALLBACKS, master=False), upstream, clock, model="primary")
    assert caught.value.status == 400
    assert hosts(upstream) == ["primary.test"]


def test_fallback_chains_never_loop() -> None:
    raw = {
        "models": [
            {"name": "a", "provider_model": "mock/a", "fallbacks": ["b"]},
            {"name": "b", "provider_model": "mock/b", "fallbacks": ["a", "c"]},
            {"name": "c", "provider_model": "mock/c", "fallbacks": ["a"]},
        ]
    }
    resolver = Resolver(msgspec.convert(raw, Config), ProviderRegistry(), {})
    assert [name for name, _ in resolver.routes("a")] == ["a", "b", "c"]


COOLING = pool(
    "a.test",
    "b.test",
    extra="[cooldown]\nduration_secs = 60\n"
    '[general]\nmaster_key = "sk-master-test-0001"\nmax_retries = 0\n',
)


async def test_cooldown_skip_half_open_and_recover(
    clock: FakeClock, upstream: FakeUpstream
) -> None:
    cfg = config(COOLING, master=False)
    upstream.script(Reply(503), url="a.test")
    async with Proxy.from_config(cfg, transport=upstream, clock=clock, environ={}) as proxy:
        for _ in range(4):
            with contextlib.suppress(UpstreamError):
                await proxy.chat({**CHAT, "model": "m"}, api_key=MASTER)
        first_a = hosts(upstream).index("a.test")
        assert "a.test" not in hosts(upstream)[first_a + 1 :]  # cooling: no traffic
        state = {d.deployment: d.state for d in proxy.health().deployments}
        assert state == {"m#1": "cooling_down", "m#2": "healthy"}
        clock.advance(61)
        assert {d.state for d in proxy.health().deployments} == {"half_open", "healthy"}
        seen = len(upstream.requests)
        for _ in range(2):
            await proxy.chat({**CHAT, "model": "m"}, api_key=MASTER)
        assert "a.test" in hosts(upstream)[seen:]  # the trial request went to a
        assert {d.state for d in proxy.health().deployments} == {"healthy"}


async def test_all_cooling_answers_503_with_retry_after(
    clock: FakeClock, upstream: FakeUpstream
) -> None:
    cfg = config(COOLING, master=False)
    upstream.script(Reply(503), Reply(503))
    async with Proxy.from_config(cfg, transport=upstream, clock=clock, environ={}) as proxy:
        for _ in range(2):
            with pytest.raises(UpstreamError):
                await proxy.chat({**CHAT, "model": "m"}, api_key=MASTER)
        clock.advance(20)
        with pytest.raises(ServiceUnavailableError) as caught:
            await proxy.chat({**CHAT, "model": "m"}, api_key=MASTER)
    assert caught.value.status == 503
    assert caught.value.headers["retry-after"] == "40"
    assert len(upstream.requests) == 2


async def test_per_model_timeout(clock: FakeClock, upstream: FakeUpstream) -> None:
    text = FALLBACKS.replace(
        'fallbacks = ["second", "third"]', 'fallbacks = ["second"]\ntimeout_secs = 5'
    )
    upstream.script(Delay(10), url="primary.test")
    answer = await run(config(text, master=False), upstream, clock, model="primary")
    assert upstream.timeouts[:2] == [5.0, 120.0]
    assert answer.headers["x-literllm-route"] == "second#2"  # type: ignore[attr-defined]


CHUNK = {
    "id": "c",
    "object": "chat.completion.chunk",
    "created": 1,
    "model": "gpt-4o",
    "choices": [{"index": 0, "delta": {"content": "x"}, "finish_reason": None}],
}


async def test_stream_fails_over_before_first_chunk(
    clock: FakeClock, upstream: FakeUpstream
) -> None:
    upstream.script(Reply(503), url="primary.test")
    upstream.script(
        StreamReply([UpstreamError("cut", retryable=True)], done=False), url="second.test"
    )
    chunks = await run(
        config(FALLBACKS, master=False), upstream, clock, model="primary", stream=True
    )
    assert hosts(upstream) == ["primary.test", "second.test", "third.test"]
    assert chunks  # the third route streamed


async def test_stream_error_after_first_chunk_is_not_retried(
    clock: FakeClock, upstream: FakeUpstream
) -> None:
    upstream.script(
        StreamReply([CHUNK, UpstreamError("connection lost", retryable=True)], done=False),
        url="primary.test",
    )
    cfg = config(FALLBACKS, master=False)
    async with Proxy.from_config(cfg, transport=upstream, clock=clock, environ={}) as proxy:
        stream = await proxy.chat_stream(
            {**CHAT, "model": "primary", "stream": True}, api_key=MASTER
        )
        got = []
        with pytest.raises(UpstreamError):
            async for chunk in stream:
                got.append(chunk)
    assert len(got) == 1
    assert hosts(upstream) == ["primary.test"]


async def test_cooldowns_are_counted_in_metrics(clock: FakeClock, upstream: FakeUpstream) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    upstream.script(Reply(503), url="a.test")
    async with Proxy.from_config(
        config(COOLING, master=False), transport=upstream, clock=clock, environ={}
    ) as proxy:
        for _ in range(2):
            with contextlib.suppress(UpstreamError):
                await proxy.chat({**CHAT, "model": "m"}, api_key=MASTER)
        body, _ = await proxy.admin.metrics(api_key=MASTER)
    counts = {
        s.labels["deployment"]: s.value
        for family in text_string_to_metric_families(body.decode())
        for s in family.samples
        if s.name == "literllm_cooldowns_total"
    }
    assert counts == {"m#1": 1.0}


def _router(
    strategy: str, weights: tuple[float, ...] = (1.0, 1.0)
) -> tuple[Router, list[Deployment]]:
    import random

    text = "".join(
        f'[[models]]\nname = "m"\nprovider_model = "mock/{i}"\nweight = {w}\n'
        for i, w in enumerate(weights)
    )
    resolver = Resolver(config(text), ProviderRegistry(), {})
    pool = resolver.pools["m"]
    router = Router(
        resolver.pools,
        strategy=strategy,
        cooldown_secs=None,  # type: ignore[arg-type]
        clock=FakeClock(),
        rng=random.Random(7),
    )
    return router, pool


def test_least_busy_picks_the_fewest_in_flight() -> None:
    router, (a, b) = _router("least_busy")
    router.started(a)
    router.started(a)
    router.started(b)
    assert router.pick(router.pools["m"]) is b
    router.succeeded(a, 0.1)
    router.succeeded(a, 0.1)
    assert router.pick(router.pools["m"]) is a


def test_lowest_latency_prefers_the_faster_deployment() -> None:
    router, (a, b) = _router("lowest_latency")
    for deployment, latency in ((a, 0.5), (b, 0.1)):
        router.started(deployment)
        router.succeeded(deployment, latency)
    assert all(router.pick(router.pools["m"]) is b for _ in range(5))


def test_weighted_spreads_in_proportion_to_weight() -> None:
    router, (a, _) = _router("weighted", (3.0, 1.0))
    picks = [router.pick(router.pools["m"]) for _ in range(4000)]
    share = picks.count(a) / len(picks)
    assert 0.72 < share < 0.78
