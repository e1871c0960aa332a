"""Small `tpm` limits: admission reserves what remains rather than refusing outright."""

from __future__ import annotations

import pytest

from literllm.errors import RateLimitError
from literllm.governance.governor import Admission, Governor
from literllm.governance.ratelimit import estimate_prompt_tokens, estimate_request_tokens
from literllm.state import StateStore
from literllm.types import Usage

from .governance_support import PRICED_MODEL, FakeClock, GovernorFactory

SMALL = {"key": "vk-small-tpm", "tpm": 500}
BODY = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
PROMPT = estimate_prompt_tokens(BODY)  # 8
ESTIMATE = estimate_request_tokens(BODY)  # 8 + 1,024 default output
REAL = Usage(prompt_tokens=12, completion_tokens=8)  # 20 real tokens


async def admit(governor: Governor) -> Admission:
    return await governor.admit(
        key=governor._config.keys[0], model="m", estimated_tokens=ESTIMATE, prompt_tokens=PROMPT
    )


async def window_used(store: StateStore, governor: Governor, clock: FakeClock) -> int:
    window = f"key:{governor._key_ids[SMALL['key']]}:tokens"
    return (await store.usage([window], now=clock.time(), window_seconds=60.0))[window]


async def test_about_25_requests_of_20_tokens_pass_a_minute_under_tpm_500(
    make_governor: GovernorFactory, clock: FakeClock
) -> None:
    governor = make_governor(keys=[SMALL])
    passed = 0
    for _ in range(60):  # one request every half second: 30 s, all in one window
        try:
            admission = await admit(governor)
        except RateLimitError:
            pass
        else:
            passed += 1
            await admission.settle(provider_model=PRICED_MODEL, usage=REAL)
        clock.advance(0.5)
    # admitted while the real usage so far plus the prompt estimate and one output
    # token fit: 20 n + 8 + 1 <= 500
    assert passed == 25


async def test_one_squeezed_request_at_a_time_and_the_overshoot_bound(
    make_governor: GovernorFactory, clock: FakeClock, store: StateStore
) -> None:
    governor = make_governor(keys=[SMALL])
    first = await admit(governor)  # empty window: the full estimate (alone, above the limit)
    await first.settle(provider_model=PRICED_MODEL, usage=REAL)
    squeezed = await admit(governor)  # reserves what remains: 480
    assert await window_used(store, governor, clock) == 500
    with pytest.raises(RateLimitError):  # nothing left while it runs
        await admit(governor)
    # it may use its whole output cap: the window passes the limit by at most that
    await squeezed.settle(
        provider_model=PRICED_MODEL, usage=Usage(prompt_tokens=8, completion_tokens=1024)
    )
    used = await window_used(store, governor, clock)
    assert used == 20 + 1032
    assert used - SMALL["tpm"] <= ESTIMATE - PROMPT  # largest overshoot: one output cap


async def test_a_prompt_that_does_not_fit_is_refused(
    make_governor: GovernorFactory, clock: FakeClock
) -> None:
    governor = make_governor(keys=[SMALL])
    first = await admit(governor)
    await first.settle(
        provider_model=PRICED_MODEL, usage=Usage(prompt_tokens=300, completion_tokens=192)
    )
    with pytest.raises(RateLimitError):  # 492 used: 8 prompt + 1 output do not fit
        await admit(governor)
    clock.advance(60)
    await admit(governor)
