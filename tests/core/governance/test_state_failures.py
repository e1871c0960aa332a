"""An unreachable state store: 503 by default, a logged pass with fail_open."""

from __future__ import annotations

import logging

import msgspec
import pytest

from literllm.config.schema import Config
from literllm.errors import ServiceUnavailableError
from literllm.governance.governor import Governor
from literllm.state import StateUnavailableError, create_state_store
from literllm.state.redis import RedisStateStore
from literllm.state.sqlite import SQLiteStateStore
from literllm.types import Usage
from tests.support.services import RedisServer, free_port, redis_or_skip

from .governance_support import (
    PRICED_MODEL,
    FakeClock,
    priced_table,
)


def _governor(url: str, *, fail_open: bool) -> Governor:
    config = msgspec.convert(
        {
            "keys": [{"key": "vk-secret", "rpm": 5, "budget_limit": 1.0}],
            "state": {
                "backend": "redis",
                "backend_config": {"url": url, "timeout_secs": 0.5},
                "fail_open": fail_open,
            },
        },
        Config,
    )
    return Governor.from_config(config, clock=FakeClock(), pricing=priced_table())


def _dead_url() -> str:
    return f"redis://:hunter2@127.0.0.1:{free_port()}/0"


async def test_unreachable_redis_fails_closed_with_503() -> None:
    governor = _governor(_dead_url(), fail_open=False)
    with pytest.raises(ServiceUnavailableError) as refused:
        await governor.start()
    assert refused.value.status == 503
    assert "fail_open" in refused.value.message
    assert "hunter2" not in refused.value.message
    with pytest.raises(ServiceUnavailableError):
        await governor.admit(key=governor._config.keys[0], model="m", estimated_tokens=1)


async def test_redis_lost_after_start_fails_closed(caplog: pytest.LogCaptureFixture) -> None:
    config = msgspec.convert({"keys": [{"key": "vk-secret", "rpm": 5}]}, Config)
    with RedisServer(redis_or_skip()) as server:
        url = server.url
        store = RedisStateStore(url, timeout_secs=0.5)
        governor = Governor.from_config(
            config, clock=FakeClock(), store=store, pricing=priced_table()
        )
        await governor.start()
        admission = await governor.admit(key=config.keys[0], model="m", estimated_tokens=1)
        assert admission.headers["x-ratelimit-remaining-requests"] == "4"
    # the server is gone now
    with pytest.raises(ServiceUnavailableError) as refused:
        await governor.admit(key=config.keys[0], model="m", estimated_tokens=1)
    # the client learns what happened, not where the store lives; the operator's log does
    assert "127.0.0.1" not in refused.value.message
    assert "state store is unavailable" in refused.value.message
    assert "Redis state store redis://127.0.0.1" in caplog.text
    # settling after an outage never raises: the response was already served
    assert await admission.settle(provider_model=PRICED_MODEL, usage=Usage(prompt_tokens=1)) > 0
    await governor.aclose()


async def test_fail_open_lets_requests_through_and_logs(caplog: pytest.LogCaptureFixture) -> None:
    governor = _governor(_dead_url(), fail_open=True)
    with caplog.at_level(logging.WARNING):
        await governor.start()
        admission = await governor.admit(
            key=governor._config.keys[0], model="m", estimated_tokens=1
        )
        await admission.reserve(provider_model=PRICED_MODEL, max_cost=5.0)
        cost = await admission.settle(provider_model=PRICED_MODEL, usage=Usage(prompt_tokens=2))
    assert admission.degraded
    assert admission.headers == {}
    assert cost == pytest.approx(0.002)
    assert "failing open" in caplog.text
    assert "hunter2" not in caplog.text and "vk-secret" not in caplog.text


async def test_sqlite_in_a_missing_directory_is_unavailable(tmp_path: object) -> None:
    store = SQLiteStateStore("/nonexistent-dir/for/sure/state.db")
    with pytest.raises(StateUnavailableError):
        await store.start()


def test_backend_options_are_checked() -> None:
    from literllm.config.schema import StateConfig

    with pytest.raises(ValueError, match="unknown option"):
        create_state_store(StateConfig(backend="sqlite", backend_config={"url": "x"}))
    with pytest.raises(ValueError, match="synchronous"):
        create_state_store(StateConfig(backend="sqlite", backend_config={"synchronous": "no"}))
    assert isinstance(create_state_store(StateConfig(backend="redis")), RedisStateStore)


async def test_redis_password_in_the_url() -> None:
    with RedisServer(redis_or_skip(), password="s3cret-pw") as server:
        authed = server.url
        url = authed.replace(":s3cret-pw@", "")
        store = RedisStateStore(authed, timeout_secs=1)
        await store.start()
        await store.settle("r1", ["global"], 0.5, now=0.0, window_seconds=60.0)
        assert await store.spend() == {"global": 0.5}
        await store.aclose()
        wrong = RedisStateStore(url.replace("redis://", "redis://:wrong-pw@"), timeout_secs=1)
        with pytest.raises(StateUnavailableError) as refused:
            await wrong.start()
        assert "wrong-pw" not in str(refused.value)
        await wrong.aclose()


def _outage_lines(caplog: pytest.LogCaptureFixture, words: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if words in r.getMessage()]


async def test_an_outage_logs_one_line_per_few_seconds_with_a_count(
    caplog: pytest.LogCaptureFixture,
) -> None:
    governor = _governor(_dead_url(), fail_open=False)
    clock = governor._clock
    assert isinstance(clock, FakeClock)
    key = governor._config.keys[0]
    with caplog.at_level(logging.INFO):
        for _ in range(40):  # 40 refusals within 4 s
            with pytest.raises(ServiceUnavailableError):
                await governor.admit(key=key, model="m", estimated_tokens=1)
            clock.advance(0.1)
        lines = _outage_lines(caplog, "refusing requests")
        assert len(lines) == 1
        clock.advance(1.5)  # 5.5 s after the first line
        with pytest.raises(ServiceUnavailableError):
            await governor.admit(key=key, model="m", estimated_tokens=1)
    lines = _outage_lines(caplog, "refusing requests")
    assert len(lines) == 2
    assert "(and 39 more like it in the last 5.5 s)" in lines[1]
    assert all(r.exc_info is None for r in caplog.records)


async def test_fail_open_passes_are_logged_with_a_count_too(
    caplog: pytest.LogCaptureFixture,
) -> None:
    governor = _governor(_dead_url(), fail_open=True)
    clock = governor._clock
    assert isinstance(clock, FakeClock)
    with caplog.at_level(logging.INFO):
        for _ in range(30):
            await governor.admit(key=governor._config.keys[0], model="m", estimated_tokens=1)
            clock.advance(0.25)
    lines = _outage_lines(caplog, "failing open")
    assert len(lines) == 2  # at 0 s and at 5 s
    assert "(and 19 more like it in the last 5.0 s)" in lines[1]
