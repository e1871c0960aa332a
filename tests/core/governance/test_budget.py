"""Budget reservations, settlement and spend, on every backend."""

from __future__ import annotations

import asyncio
import logging

import pytest

from literllm.errors import BudgetExceededError
from literllm.governance.governor import Governor
from literllm.identity import key_id
from literllm.types import Usage

from .governance_support import OTHER_MODEL, PRICED_MODEL, FakeClock, GovernorFactory

# PRICED_MODEL: $0.001 per input token, $0.002 per output token.
# 100 prompt + 50 completion tokens cost exactly $0.2; max cost of (100, 50) is $0.2 too.
USAGE = Usage(prompt_tokens=100, completion_tokens=50, total_tokens=150)
COST = 0.2
KEY = {"key": "vk-budget-secret", "description": "batch", "budget_limit": 1.0}


async def _one_request(governor: Governor, *, gate: asyncio.Event | None = None) -> bool:
    key = governor._config.keys[0] if governor._config.keys else None
    admission = await governor.admit(key=key, model="m", estimated_tokens=150)
    try:
        max_cost = governor.estimate_max_cost(PRICED_MODEL, 100, 50)
        await admission.reserve(provider_model=PRICED_MODEL, max_cost=max_cost)
    except BudgetExceededError:
        await admission.release()
        return False
    if gate is not None:
        await gate.wait()
    await admission.settle(provider_model=PRICED_MODEL, usage=USAGE)
    return True


@pytest.mark.parametrize("extra", [0, 1, 4])
async def test_concurrent_requests_never_overshoot_a_key_budget(
    make_governor: GovernorFactory, extra: int
) -> None:
    governor = make_governor(keys=[KEY])
    gate = asyncio.Event()
    tasks = [asyncio.create_task(_one_request(governor, gate=gate)) for _ in range(5 + extra)]
    pending = set(tasks)
    while len(tasks) - len(pending) < extra:  # the refused ones finish while 5 are held
        _, pending = await asyncio.wait(
            pending, timeout=5, return_when=asyncio.FIRST_COMPLETED
        )  # the timeout only guards against a hang when reservations are broken
        if len(pending) == len(tasks):
            break
    gate.set()
    results = await asyncio.gather(*tasks)
    assert results.count(True) == 5
    snapshot = await governor.snapshot()
    assert snapshot.keys[0].spend == pytest.approx(1.0)
    assert snapshot.keys[0].remaining_budget == pytest.approx(0.0)
    assert await _one_request(governor) is False


async def test_refusal_is_402_naming_the_cap_and_what_remains(
    make_governor: GovernorFactory,
) -> None:
    governor = make_governor(keys=[{**KEY, "budget_limit": 0.5}])
    assert await _one_request(governor)
    assert await _one_request(governor)
    key = governor._config.keys[0]
    admission = await governor.admit(key=key, model="m", estimated_tokens=1)
    with pytest.raises(BudgetExceededError) as refused:
        await admission.reserve(provider_model=PRICED_MODEL, max_cost=COST)
    error = refused.value
    assert error.status == 402
    assert error.error_type == "budget_exceeded"
    assert "budget_limit" in error.message and "'batch'" in error.message
    assert "$0.50" in error.message and "$0.100000 remaining" in error.message
    assert "vk-budget-secret" not in error.message


async def test_global_and_model_caps(make_governor: GovernorFactory) -> None:
    governor = make_governor(
        keys=[{"key": "vk-x"}],
        budget={"global_limit": 0.5, "model_limits": {PRICED_MODEL: 0.3}},
    )
    key = governor._config.keys[0]
    first = await governor.admit(key=key, model="m", estimated_tokens=1)
    await first.reserve(provider_model=PRICED_MODEL, max_cost=COST)
    await first.settle(provider_model=PRICED_MODEL, usage=USAGE)
    second = await governor.admit(key=key, model="m", estimated_tokens=1)
    with pytest.raises(BudgetExceededError) as model_refusal:
        await second.reserve(provider_model=PRICED_MODEL, max_cost=COST)
    assert f'[budget.model_limits] "{PRICED_MODEL}" of $0.30' in model_refusal.value.message
    # falling back to another model is only bound by the global cap
    await second.reserve(provider_model=OTHER_MODEL, max_cost=0.25)
    third = await governor.admit(key=None, model="m", estimated_tokens=1)
    with pytest.raises(BudgetExceededError) as global_refusal:
        await third.reserve(provider_model=OTHER_MODEL, max_cost=0.1)
    assert "global [budget] global_limit of $0.50 has $0.050000 remaining" in (
        global_refusal.value.message
    )
    await second.release()
    await third.reserve(provider_model=OTHER_MODEL, max_cost=0.1)


async def test_master_key_is_not_bound_by_key_budgets(make_governor: GovernorFactory) -> None:
    governor = make_governor(keys=[{**KEY, "budget_limit": 0.0}])
    admission = await governor.admit(key=None, model="m", estimated_tokens=1)
    await admission.reserve(provider_model=PRICED_MODEL, max_cost=COST)
    assert await admission.settle(provider_model=PRICED_MODEL, usage=USAGE) == pytest.approx(COST)
    snapshot = await governor.snapshot()
    assert snapshot.master.spend == pytest.approx(COST)
    assert snapshot.keys[0].spend == 0.0


async def test_a_new_reservation_replaces_the_earlier_one(make_governor: GovernorFactory) -> None:
    governor = make_governor(keys=[KEY])
    key = governor._config.keys[0]
    admission = await governor.admit(key=key, model="m", estimated_tokens=1)
    await admission.reserve(provider_model=PRICED_MODEL, max_cost=0.9)
    await admission.reserve(provider_model=OTHER_MODEL, max_cost=0.9)  # fallback: replaces
    other = await governor.admit(key=key, model="m", estimated_tokens=1)
    with pytest.raises(BudgetExceededError):
        await other.reserve(provider_model=PRICED_MODEL, max_cost=0.2)
    await other.reserve(provider_model=PRICED_MODEL, max_cost=0.1)


async def test_failed_request_releases_its_reservation(make_governor: GovernorFactory) -> None:
    governor = make_governor(keys=[KEY])
    key = governor._config.keys[0]
    async with await governor.admit(key=key, model="m", estimated_tokens=1) as failed:
        await failed.reserve(provider_model=PRICED_MODEL, max_cost=1.0)
    # leaving the block released it: the whole budget is free again
    admission = await governor.admit(key=key, model="m", estimated_tokens=1)
    await admission.reserve(provider_model=PRICED_MODEL, max_cost=1.0)
    assert (await governor.snapshot()).keys[0].spend == 0.0


async def test_cancelled_request_releases_its_reservation(make_governor: GovernorFactory) -> None:
    governor = make_governor(keys=[KEY])
    key = governor._config.keys[0]
    reserved = asyncio.Event()

    async def request() -> None:
        admission = await governor.admit(key=key, model="m", estimated_tokens=1)
        try:
            await admission.reserve(provider_model=PRICED_MODEL, max_cost=1.0)
            reserved.set()
            await asyncio.Event().wait()  # upstream never answers
        finally:
            await admission.release()

    task = asyncio.create_task(request())
    await reserved.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    admission = await governor.admit(key=key, model="m", estimated_tokens=1)
    await admission.reserve(provider_model=PRICED_MODEL, max_cost=1.0)


async def test_settle_records_spend_per_key_model_and_globally(
    make_governor: GovernorFactory,
) -> None:
    governor = make_governor(keys=[KEY, {"key": "vk-other"}])
    first, second = governor._config.keys
    for key, model, usage in [
        (first, PRICED_MODEL, USAGE),
        (second, PRICED_MODEL, Usage(prompt_tokens=10)),
        (second, OTHER_MODEL, Usage(completion_tokens=10)),
    ]:
        admission = await governor.admit(key=key, model="m", estimated_tokens=1)
        await admission.settle(provider_model=model, usage=usage)
        assert await admission.settle(provider_model=model, usage=usage) > 0  # idempotent
    snapshot = await governor.snapshot()
    assert snapshot.keys[0].id == key_id("vk-budget-secret")
    assert snapshot.keys[0].description == "batch"
    assert snapshot.keys[0].spend == pytest.approx(0.2)
    assert snapshot.keys[0].remaining_budget == pytest.approx(0.8)
    assert snapshot.keys[1].spend == pytest.approx(0.21)
    assert snapshot.keys[1].remaining_budget is None
    assert snapshot.global_.spend == pytest.approx(0.41)
    assert snapshot.models[PRICED_MODEL].spend == pytest.approx(0.21)
    assert snapshot.models[OTHER_MODEL].spend == pytest.approx(0.2)
    assert "vk-budget-secret" not in repr(snapshot) and "vk-other" not in repr(snapshot)


async def test_soft_enforcement_lets_requests_through_and_counts_them(
    make_governor: GovernorFactory, caplog: pytest.LogCaptureFixture
) -> None:
    governor = make_governor(keys=[KEY], budget={"enforcement": "soft", "global_limit": 0.1})
    key = governor._config.keys[0]
    with caplog.at_level(logging.WARNING, logger="literllm.governance.budget"):
        for _ in range(6):
            admission = await governor.admit(key=key, model="m", estimated_tokens=1)
            await admission.reserve(provider_model=PRICED_MODEL, max_cost=COST)
            await admission.settle(provider_model=PRICED_MODEL, usage=USAGE)
    snapshot = await governor.snapshot()
    assert snapshot.keys[0].spend == pytest.approx(1.2)
    overruns = snapshot.global_.soft_overruns_this_process
    assert overruns["global"] == 6
    assert overruns[f"key:{key_id(key.key)}"] == 1  # the sixth crossed the key cap
    assert "soft budget overrun" in caplog.text
    assert "vk-budget-secret" not in caplog.text


async def test_cache_hit_costs_nothing(make_governor: GovernorFactory) -> None:
    governor = make_governor(keys=[KEY])
    key = governor._config.keys[0]
    admission = await governor.admit(key=key, model="m", estimated_tokens=1)
    await admission.reserve(provider_model=PRICED_MODEL, max_cost=1.0)
    assert await admission.settle(provider_model=PRICED_MODEL, usage=None) == 0.0
    again = await governor.admit(key=key, model="m", estimated_tokens=1)
    await again.reserve(provider_model=PRICED_MODEL, max_cost=1.0)  # reservation freed


async def test_unpriced_model_costs_zero_and_is_logged_once(
    make_governor: GovernorFactory, caplog: pytest.LogCaptureFixture
) -> None:
    governor = make_governor(models=[{"name": "m", "provider_model": "openai/unknown"}])
    with caplog.at_level(logging.WARNING, logger="literllm.governance.governor"):
        for provider_model in ("openai/unknown", "openai/sk-sent-as-model", "openai/other") * 3:
            admission = await governor.admit(key=None, model="m", estimated_tokens=1)
            cost = await admission.settle(provider_model=provider_model, usage=USAGE)
            assert cost == 0.0
    assert caplog.text.count("openai/unknown has no price") == 1
    # a passthrough name is the client's text: never logged, one line per provider
    assert "sk-sent-as-model" not in caplog.text and "openai/other" not in caplog.text
    assert caplog.text.count("a passthrough model of provider 'openai' has no price") == 1
    assert governor.estimate_max_cost("openai/unknown", 100, 100) == 0.0


async def test_a_key_remembers_a_bounded_number_of_provider_models() -> None:
    import msgspec

    from literllm.config.schema import Config
    from literllm.state.memory import MemoryStateStore

    from .governance_support import priced_table

    config = msgspec.convert(
        {"keys": [{"key": "vk-many", "budget_limit": 100.0}], "budget": {"global_limit": 1e6}},
        Config,
    )
    governor = Governor.from_config(
        config, clock=FakeClock(), pricing=priced_table(), store=MemoryStateStore()
    )
    key = config.keys[0]
    for n in range(2500):  # passthrough names are chosen by clients
        admission = await governor.admit(key=key, model="m", estimated_tokens=1)
        await admission.reserve(provider_model=f"openai/model-{n}", max_cost=0.0)
        await admission.settle(provider_model=f"openai/model-{n}", usage=None)
    rules = governor._rules_of(key)
    assert len(rules._caps) <= 1024 and len(rules._spend_names) <= 1024
    assert rules.caps("openai/model-1") == rules.caps("openai/model-1")  # still right
