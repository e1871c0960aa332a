"""What docs/configuration.md states about cost tracking, lifetime budgets and retries."""

from __future__ import annotations

from pathlib import Path

import pytest

from literllm import BudgetExceededError, Proxy, UpstreamError
from literllm.testing import Fail, FakeClock, FakeUpstream, Reply
from tests.support.configs import MASTER, config

MESSAGES = [{"role": "user", "content": "hi"}]
ANSWER = {
    "id": "c1",
    "object": "chat.completion",
    "created": 1,
    "model": "gpt-4o",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"},
                 "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 1000, "completion_tokens": 1000, "total_tokens": 2000},
}  # fmt: skip
KEY = "vk-claims-0001"


def toml(*, tracking: bool = False, retries: int = 2, state: str = "") -> str:
    return f"""
[general]
master_key = "{MASTER}"
max_retries = {retries}
enable_cost_tracking = {"true" if tracking else "false"}

[routing]
backoff_base_secs = 0
backoff_max_secs = 0

[[models]]
name = "gpt"
provider_model = "openai/gpt-4o"
api_key = "sk-upstream-claims"
base_url = "https://openai.test/v1"

[[keys]]
key = "{KEY}"
budget_limit = 0.015
{state}
"""


def build(text: str, upstream: FakeUpstream) -> Proxy:
    return Proxy.from_config(config(text), transport=upstream, clock=FakeClock(), environ={})


@pytest.mark.parametrize("tracking", [False, True])
async def test_cost_is_always_recorded_the_flag_only_adds_the_header(tracking: bool) -> None:
    upstream = FakeUpstream()
    upstream.script(*[Reply(json=ANSWER)] * 3)
    async with build(toml(tracking=tracking), upstream) as proxy:
        answer = await proxy.chat(
            {"model": "gpt", "messages": MESSAGES, "max_tokens": 1000}, api_key=KEY
        )
        assert ("x-literllm-response-cost" in answer.headers) is tracking
        spend = await proxy.admin.spend(api_key=MASTER)
        # gpt-4o: 1,000 input tokens at $2.50/M and 1,000 output at $10/M
        assert spend.global_.spend == pytest.approx(0.0125)
        # and the budget counts it: $0.0125 of $0.015 spent, the next call may cost more
        with pytest.raises(BudgetExceededError):
            await proxy.chat(
                {"model": "gpt", "messages": MESSAGES, "max_tokens": 1000}, api_key=KEY
            )


async def test_lifetime_budgets_last_as_long_as_the_process_under_memory_state() -> None:
    upstream = FakeUpstream()
    upstream.script(*[Reply(json=ANSWER)] * 2)
    async with build(toml(), upstream) as proxy:
        await proxy.chat({"model": "gpt", "messages": MESSAGES, "max_tokens": 1000}, api_key=KEY)
        assert (await proxy.admin.spend(api_key=MASTER)).global_.spend > 0
    async with build(toml(), upstream) as restarted:  # a new process: spend starts at 0
        assert (await restarted.admin.spend(api_key=MASTER)).global_.spend == 0.0


async def test_spend_survives_a_restart_with_sqlite_state(tmp_path: Path) -> None:
    state = f'[state]\nbackend = "sqlite"\n[state.backend_config]\npath = "{tmp_path / "s.db"}"'
    upstream = FakeUpstream()
    upstream.script(Reply(json=ANSWER))
    async with build(toml(state=state), upstream) as proxy:
        await proxy.chat({"model": "gpt", "messages": MESSAGES, "max_tokens": 1000}, api_key=KEY)
    async with build(toml(state=state), upstream) as restarted:
        spend = (await restarted.admin.spend(api_key=MASTER)).global_.spend
        assert spend == pytest.approx(0.0125)


RETRIED = [Reply(status) for status in (408, 409, 425, 429, 500, 502, 503, 504, 529)] + [
    Fail("timeout"),
    Fail("connect"),
    Reply(200, body=b'{"id": "x", "choices": ['),  # not valid JSON
]
NEVER = [Reply(status) for status in (400, 401, 403, 404, 405, 413, 415, 422)]


@pytest.mark.parametrize("failure", RETRIED, ids=repr)
async def test_transient_failures_are_retried_max_retries_times(failure: object) -> None:
    upstream = FakeUpstream()
    upstream.script(*[failure] * 3)  # type: ignore[arg-type]
    async with build(toml(retries=2), upstream) as proxy:
        with pytest.raises(UpstreamError):
            await proxy.chat({"model": "gpt", "messages": MESSAGES}, api_key=MASTER)
    assert len(upstream.requests) == 3  # 1 + max_retries


@pytest.mark.parametrize("failure", NEVER, ids=repr)
async def test_other_4xx_answers_are_never_retried(failure: Reply) -> None:
    upstream = FakeUpstream()
    upstream.script(failure, Reply(json=ANSWER))
    async with build(toml(retries=2), upstream) as proxy:
        with pytest.raises(UpstreamError) as caught:
            await proxy.chat({"model": "gpt", "messages": MESSAGES}, api_key=MASTER)
    assert caught.value.status < 500 or failure.status in (401, 403)  # 502: our key failed
    assert len(upstream.requests) == 1
