"""Sliding-window rate limits, on every backend, through the Governor facade."""

from __future__ import annotations

import pytest

from literllm.errors import RateLimitError
from literllm.governance.ratelimit import (
    estimate_prompt_tokens,
    estimate_request_tokens,
    format_reset,
)
from literllm.governance.snapshot import WindowUsage
from literllm.identity import key_id
from literllm.state import WindowHit
from literllm.state.base import evaluate_window
from literllm.types import Usage

from .governance_support import PRICED_MODEL, FakeClock, GovernorFactory

KEY = {"key": "vk-secret-token-123", "description": "frontend", "rpm": 3}


async def test_rpm_refuses_the_request_over_the_limit_with_exact_retry_after(
    make_governor: GovernorFactory, clock: FakeClock
) -> None:
    governor = make_governor(keys=[KEY])
    key = governor._config.keys[0]
    for _ in range(3):
        await governor.admit(key=key, model="m", estimated_tokens=10)
        clock.advance(10)
    with pytest.raises(RateLimitError) as refused:
        await governor.admit(key=key, model="m", estimated_tokens=10)
    error = refused.value
    assert error.status == 429
    assert error.error_type == "rate_limit_error"
    # the first request (t=0) leaves the window at t=60; now t=30
    assert error.headers["retry-after"] == "30"
    assert error.headers["x-ratelimit-limit-requests"] == "3"
    assert error.headers["x-ratelimit-remaining-requests"] == "0"
    assert error.headers["x-ratelimit-reset-requests"] == "30s"
    assert "3 requests per minute" in error.message
    assert "max_tokens" not in error.message  # a request limit: fewer tokens do not help
    assert "vk-secret-token-123" not in error.message
    assert "vk-secret-token-123" not in str(error.headers)

    clock.advance(29.999)
    with pytest.raises(RateLimitError) as again:
        await governor.admit(key=key, model="m", estimated_tokens=10)
    assert again.value.headers["retry-after"] == "1"
    clock.advance(0.001)  # exactly 60 s after the first request
    admission = await governor.admit(key=key, model="m", estimated_tokens=10)
    assert admission.headers["x-ratelimit-remaining-requests"] == "0"


async def test_no_double_burst_at_a_minute_boundary(
    make_governor: GovernorFactory, clock: FakeClock
) -> None:
    governor = make_governor(keys=[{**KEY, "rpm": 10}])
    key = governor._config.keys[0]
    clock.advance(1_800_000_059.9 - clock.time())  # 0.1 s before a wall-clock minute boundary
    for _ in range(10):
        await governor.admit(key=key, model="m", estimated_tokens=1)
    clock.advance(0.2)  # a fixed window would have reset here
    with pytest.raises(RateLimitError) as refused:
        await governor.admit(key=key, model="m", estimated_tokens=1)
    assert refused.value.headers["retry-after"] == "60"  # 59.8 s, rounded up
    clock.advance(59.8)
    await governor.admit(key=key, model="m", estimated_tokens=1)


async def test_retry_after_waits_for_enough_capacity_not_the_first_entry(
    make_governor: GovernorFactory, clock: FakeClock
) -> None:
    governor = make_governor(keys=[{**KEY, "rpm": None, "tpm": 1000}])
    key = governor._config.keys[0]
    await governor.admit(key=key, model="m", estimated_tokens=100)  # t=0
    clock.advance(5)
    await governor.admit(key=key, model="m", estimated_tokens=700)  # t=5
    clock.advance(5)
    with pytest.raises(RateLimitError) as refused:  # t=10: needs 800 freed -> t=65
        await governor.admit(key=key, model="m", estimated_tokens=800)
    assert refused.value.headers["retry-after"] == "55"
    assert refused.value.headers["x-ratelimit-remaining-tokens"] == "200"
    assert "lower max_tokens" in refused.value.message
    clock.advance(54.5)
    with pytest.raises(RateLimitError):
        await governor.admit(key=key, model="m", estimated_tokens=800)
    clock.advance(0.5)
    await governor.admit(key=key, model="m", estimated_tokens=800)


async def test_refused_request_counts_in_no_window(
    make_governor: GovernorFactory, clock: FakeClock
) -> None:
    governor = make_governor(keys=[{**KEY, "rpm": 5, "tpm": 100}])
    key = governor._config.keys[0]
    await governor.admit(key=key, model="m", estimated_tokens=90)
    with pytest.raises(RateLimitError):
        await governor.admit(key=key, model="m", estimated_tokens=20)  # tokens refuse
    admission = await governor.admit(key=key, model="m", estimated_tokens=10)
    assert admission.headers["x-ratelimit-remaining-requests"] == "3"
    assert admission.headers["x-ratelimit-remaining-tokens"] == "0"


async def test_tokens_are_reconciled_with_real_usage(
    make_governor: GovernorFactory, clock: FakeClock
) -> None:
    governor = make_governor(keys=[{**KEY, "rpm": None, "tpm": 1000}])
    key = governor._config.keys[0]
    first = await governor.admit(key=key, model="m", estimated_tokens=600)
    assert first.headers == {
        "x-ratelimit-limit-tokens": "1000",
        "x-ratelimit-remaining-tokens": "400",
        "x-ratelimit-reset-tokens": "1m0s",
    }
    with pytest.raises(RateLimitError):
        await governor.admit(key=key, model="m", estimated_tokens=600)
    clock.advance(1)
    await first.settle(provider_model=PRICED_MODEL, usage=Usage(total_tokens=150))
    second = await governor.admit(key=key, model="m", estimated_tokens=600)
    assert second.headers["x-ratelimit-remaining-tokens"] == "250"
    snapshot = await governor.snapshot()
    assert snapshot.keys[0].window == WindowUsage(requests=None, tokens=750)


async def test_release_frees_tokens_but_the_request_still_counts(
    make_governor: GovernorFactory,
) -> None:
    governor = make_governor(keys=[{**KEY, "rpm": 2, "tpm": 1000}])
    key = governor._config.keys[0]
    failed = await governor.admit(key=key, model="m", estimated_tokens=900)
    await failed.release()
    await failed.release()  # idempotent
    ok = await governor.admit(key=key, model="m", estimated_tokens=900)
    assert ok.headers["x-ratelimit-remaining-requests"] == "0"
    with pytest.raises(RateLimitError):
        await governor.admit(key=key, model="m", estimated_tokens=1)


async def test_cache_hit_uses_no_tokens_and_counts_as_a_request(
    make_governor: GovernorFactory,
) -> None:
    governor = make_governor(keys=[{**KEY, "rpm": 5, "tpm": 1000}])
    key = governor._config.keys[0]
    hit = await governor.admit(key=key, model="m", estimated_tokens=900)
    assert await hit.settle(provider_model=None, usage=None) == 0.0
    snapshot = await governor.snapshot()
    assert snapshot.keys[0].window == WindowUsage(requests=1, tokens=0)
    assert snapshot.keys[0].spend == 0.0


async def test_global_limits_count_every_key_and_the_master_key(
    make_governor: GovernorFactory, clock: FakeClock
) -> None:
    governor = make_governor(
        keys=[{"key": "vk-a", "rpm": 1}, {"key": "vk-b"}], rate_limit={"rpm": 3}
    )
    key_a, key_b = governor._config.keys
    master = await governor.admit(key=None, model="m", estimated_tokens=1)
    assert master.headers["x-ratelimit-limit-requests"] == "3"
    assert master.headers["x-ratelimit-remaining-requests"] == "2"
    first = await governor.admit(key=key_a, model="m", estimated_tokens=1)
    # the binding window is the key's (0 left), not the global one (1 left)
    assert first.headers["x-ratelimit-limit-requests"] == "1"
    assert first.headers["x-ratelimit-remaining-requests"] == "0"
    with pytest.raises(RateLimitError) as key_refusal:
        await governor.admit(key=key_a, model="m", estimated_tokens=1)
    assert "global" not in key_refusal.value.message
    await governor.admit(key=key_b, model="m", estimated_tokens=1)
    with pytest.raises(RateLimitError) as global_refusal:
        await governor.admit(key=None, model="m", estimated_tokens=1)
    assert "global [rate_limit] allows 3 requests" in global_refusal.value.message
    assert global_refusal.value.headers["retry-after"] == "60"


async def test_master_key_is_not_bound_by_key_limits(make_governor: GovernorFactory) -> None:
    governor = make_governor(keys=[{**KEY, "rpm": 1}])
    for _ in range(5):
        admission = await governor.admit(key=None, model="m", estimated_tokens=10)
        assert admission.headers == {}


async def test_a_request_larger_than_tpm_needs_an_empty_window(
    make_governor: GovernorFactory, clock: FakeClock
) -> None:
    governor = make_governor(keys=[{**KEY, "rpm": None, "tpm": 100}])
    key = governor._config.keys[0]
    big = await governor.admit(key=key, model="m", estimated_tokens=5000)
    assert big.headers["x-ratelimit-remaining-tokens"] == "0"
    clock.advance(2)
    usage = Usage(prompt_tokens=30, completion_tokens=20)
    await big.settle(provider_model=PRICED_MODEL, usage=usage)  # 50 tokens, stamped t=2
    with pytest.raises(RateLimitError) as refused:
        await governor.admit(key=key, model="m", estimated_tokens=5000)
    assert refused.value.headers["retry-after"] == "60"
    await governor.admit(key=key, model="m", estimated_tokens=50)


def test_evaluate_window_arithmetic() -> None:
    hit = WindowHit("w", 10, 4)
    entries = [(100.0, 3), (110.0, 5), (120.0, 2)]
    assert evaluate_window(entries, 10, hit, now=130.0, window_seconds=60.0) == (False, 40.0)
    assert evaluate_window(entries, 10, WindowHit("w", 14, 4), now=130.0, window_seconds=60.0) == (
        True,
        0.0,
    )
    assert evaluate_window([], 0, WindowHit("w", 0, 1), now=0.0, window_seconds=60.0) == (
        False,
        60.0,
    )


def test_token_estimates() -> None:
    body = {"messages": [{"role": "user", "content": "x" * 400}], "max_tokens": 50}
    prompt = estimate_prompt_tokens(body)
    assert 100 < prompt < 115  # 400 bytes of content plus the JSON around it, / 4
    assert estimate_request_tokens(body) == prompt + 50
    assert estimate_request_tokens({**body, "max_completion_tokens": 7}) == prompt + 7
    del body["max_tokens"]
    assert estimate_request_tokens(body) == prompt + 1024
    assert estimate_request_tokens({"input": "abcdefgh"}) == 3  # embeddings: no output


def test_reset_format() -> None:
    assert format_reset(0) == "0ms"
    assert format_reset(0.02) == "20ms"
    assert format_reset(1.5) == "1.5s"
    assert format_reset(60) == "1m0s"
    assert format_reset(359.25) == "5m59.25s"
    assert format_reset(-1) == "0ms"
    assert format_reset(0.9991) == "1s"  # rounded up to whole milliseconds
    assert format_reset(2) == "2s"
    assert format_reset(59.941) == "59.941s"
    assert format_reset(60.02) == "1m0.02s"
    assert format_reset(120.001) == "2m0.001s"


def test_key_id_is_stable_and_not_the_token() -> None:
    assert key_id("vk-a") == key_id("vk-a")
    assert key_id("vk-a") != key_id("vk-b")
    assert "vk-a" not in key_id("vk-a")
    assert len(key_id("vk-a")) == 18
