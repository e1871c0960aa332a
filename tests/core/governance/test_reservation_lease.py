"""Reservations last exactly as long as their request; only a dead process's lapse."""

from __future__ import annotations

import pytest

from literllm.errors import BudgetExceededError
from literllm.governance.governor import LEASE_SECS, Governor
from literllm.state import StateStore
from literllm.types import Usage

from .governance_support import PRICED_MODEL, FakeClock, GovernorFactory

ONE_REQUEST = {"key": "vk-one-request", "budget_limit": 0.25}
TIMEOUT = {"request_timeout_secs": 60}


async def second_request_is_refused(governor: Governor) -> bool:
    second = await governor.admit(
        key=governor._config.keys[0], model=PRICED_MODEL, estimated_tokens=10
    )
    try:
        await second.reserve(provider_model=PRICED_MODEL, max_cost=0.2)
    except BudgetExceededError:
        return True
    finally:
        await second.release()
    return False


async def test_a_running_request_keeps_its_reservation_past_any_expiry(
    make_governor: GovernorFactory, clock: FakeClock, backend: str
) -> None:
    governor = make_governor(keys=[ONE_REQUEST], server=TIMEOUT)
    await governor.start()
    first = await governor.admit(
        key=governor._config.keys[0], model=PRICED_MODEL, estimated_tokens=10
    )
    await first.reserve(provider_model=PRICED_MODEL, max_cost=0.2)
    # 2,000 s: far past the old fixed expiry (request_timeout_secs + 60 s) and the lease
    for _ in range(200):
        clock.advance(LEASE_SECS / 3)
        if backend != "memory":  # what the renewer task does every LEASE_SECS / 3
            await governor.renew_leases()
        assert await second_request_is_refused(governor)
    await first.settle(provider_model=PRICED_MODEL, usage=Usage(prompt_tokens=10))
    assert not await second_request_is_refused(governor)  # settled: the room is back
    await governor.aclose()


@pytest.mark.parametrize("backend", ["sqlite", "redis"], indirect=True)
async def test_only_a_dead_process_reservations_lapse(
    make_governor: GovernorFactory, clock: FakeClock, store: StateStore
) -> None:
    crashed = make_governor(keys=[ONE_REQUEST], server=TIMEOUT)
    running = await crashed.admit(
        key=crashed._config.keys[0], model=PRICED_MODEL, estimated_tokens=10
    )
    await running.reserve(provider_model=PRICED_MODEL, max_cost=0.2)
    survivor = make_governor(keys=[ONE_REQUEST], server=TIMEOUT)
    # the crashed process renews nothing: its lease runs out, and only then is the
    # budget free again
    clock.advance(LEASE_SECS - 1)
    assert await second_request_is_refused(survivor)
    clock.advance(2)
    assert not await second_request_is_refused(survivor)


async def test_the_renewer_runs_only_for_shared_stores(
    make_governor: GovernorFactory, backend: str
) -> None:
    governor = make_governor(keys=[ONE_REQUEST])
    await governor.start()
    assert (governor._renewer is not None) == (backend != "memory")
    await governor.aclose()
    assert governor._renewer is None
