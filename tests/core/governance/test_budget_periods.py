"""`budget_duration`: a cap applies per UTC period, resets exactly once at the boundary
and leaves every past period's spend readable."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from literllm.errors import BudgetExceededError
from literllm.governance.governor import Governor
from literllm.governance.periods import parse_duration, split_stamped
from literllm.identity import key_id
from literllm.types import Usage

from .governance_support import PRICED_MODEL, FakeClock, GovernorFactory

USAGE = Usage(prompt_tokens=100, completion_tokens=50, total_tokens=150)  # $0.2
KEY = {"key": "vk-daily-secret", "budget_limit": 0.4, "budget_duration": "1d"}


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


async def request(governor: Governor) -> bool:
    key = governor._config.keys[0] if governor._config.keys else None
    admission = await governor.admit(key=key, model="m", estimated_tokens=150)
    async with admission:
        try:
            await admission.reserve(
                provider_model=PRICED_MODEL,
                max_cost=governor.estimate_max_cost(PRICED_MODEL, 100, 50),
            )
        except BudgetExceededError:
            return False
        await admission.settle(provider_model=PRICED_MODEL, usage=USAGE)
    return True


@pytest.mark.parametrize(
    ("text", "now", "start", "end"),
    [
        ("1d", "2026-12-06T23:59:59", date(2026, 12, 6), date(2026, 12, 7)),
        ("1d", "2026-12-07T00:00:00", date(2026, 12, 7), date(2026, 12, 8)),
        ("7d", "2026-12-06T12:00:00", date(2026, 12, 3), date(2026, 12, 10)),  # Thursdays
        ("1mo", "2026-12-31T23:59:59", date(2026, 12, 1), date(2027, 1, 1)),
        ("1mo", "2027-02-28T10:00:00", date(2027, 2, 1), date(2027, 3, 1)),
        ("3mo", "2026-05-15T00:00:00", date(2026, 4, 1), date(2026, 7, 1)),
        ("30d", "1970-01-30T23:59:59", date(1970, 1, 1), date(1970, 1, 31)),
    ],
)
def test_periods_are_utc_and_aligned(text: str, now: str, start: date, end: date) -> None:
    period = parse_duration(text)
    assert period.start(at(now)) == start
    assert period.end(at(now)) == end


@pytest.mark.parametrize("text", ["0d", "1w", "1m", "d", "1.5d", "1 d", "99999d"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="budget_duration"):
        parse_duration(text)


def test_stamped_counters_split_back() -> None:
    stamped = parse_duration("1d").stamp("key:k-1", at("2026-12-06T05:00:00"))
    assert stamped == "key:k-1@1d:2026-12-06"
    assert split_stamped(stamped) == ("key:k-1", "1d", "2026-12-06")
    assert split_stamped("model:vertex_ai/claude-3@20240229") is None


async def test_daily_key_budget_resets_at_midnight_utc(
    make_governor: GovernorFactory, clock: FakeClock
) -> None:
    clock.advance(at("2026-12-06T23:00:00") - clock.time())
    governor = make_governor(keys=[KEY])
    assert [await request(governor) for _ in range(3)] == [True, True, False]
    clock.advance(at("2026-12-06T23:59:59.9") - clock.time())
    assert await request(governor) is False
    snapshot = await governor.snapshot()
    assert snapshot.keys[0].remaining_budget == pytest.approx(0.0)

    clock.advance(0.1)  # midnight UTC
    assert [await request(governor) for _ in range(3)] == [True, True, False]
    spend = await governor._store.spend()
    name = f"key:{key_id(KEY['key'])}"
    assert spend[f"{name}@1d:2026-12-06"] == pytest.approx(0.4)  # the past day stays
    assert spend[f"{name}@1d:2026-12-07"] == pytest.approx(0.4)
    assert spend[name] == pytest.approx(0.8)  # lifetime spend keeps counting
    snapshot = await governor.snapshot()
    assert snapshot.keys[0].spend == pytest.approx(0.8)
    assert snapshot.keys[0].remaining_budget == pytest.approx(0.0)


async def test_the_reset_happens_once_for_governors_sharing_a_store(
    make_governor: GovernorFactory, clock: FakeClock
) -> None:
    """Two gateways on one store: after midnight the day's cap is shared anew, not
    reset by each."""
    clock.advance(at("2026-12-06T23:59:00") - clock.time())
    first, second = make_governor(keys=[KEY]), make_governor(keys=[KEY])
    assert await request(first) and await request(second)
    assert not await request(first)
    clock.advance(120)
    results = [await request(g) for g in (first, second, first, second)]
    assert results == [True, True, False, False]


async def test_a_request_is_charged_to_the_period_it_reserved_in(
    make_governor: GovernorFactory, clock: FakeClock
) -> None:
    clock.advance(at("2026-12-06T23:59:59") - clock.time())
    governor = make_governor(keys=[KEY])
    key = governor._config.keys[0]
    admission = await governor.admit(key=key, model="m", estimated_tokens=150)
    await admission.reserve(provider_model=PRICED_MODEL, max_cost=0.2)
    clock.advance(5)  # answered after midnight
    await admission.settle(provider_model=PRICED_MODEL, usage=USAGE)
    spend = await governor._store.spend()
    name = f"key:{key_id(KEY['key'])}"
    assert spend[f"{name}@1d:2026-12-06"] == pytest.approx(0.2)
    assert f"{name}@1d:2026-12-07" not in spend


async def test_global_and_model_caps_can_be_periodic(
    make_governor: GovernorFactory, clock: FakeClock
) -> None:
    clock.advance(at("2026-12-31T12:00:00") - clock.time())
    governor = make_governor(
        budget={
            "global_limit": 10.0,
            "budget_duration": "1d",
            "model_limits": {PRICED_MODEL: 0.2},
            "model_budget_duration": "1mo",
        }
    )
    assert [await request(governor), await request(governor)] == [True, False]
    clock.advance(86_400)  # a new day and a new month
    assert await request(governor) is True
    spend = await governor._store.spend()
    assert spend[f"model:{PRICED_MODEL}@1mo:2026-12-01"] == pytest.approx(0.2)
    assert spend[f"model:{PRICED_MODEL}@1mo:2027-01-01"] == pytest.approx(0.2)
    assert spend["global@1d:2027-01-01"] == pytest.approx(0.2)
    snapshot = await governor.snapshot()
    assert snapshot.models[PRICED_MODEL].remaining_budget == pytest.approx(0.0)
    assert snapshot.global_.remaining_budget == pytest.approx(9.8)
    assert list(snapshot.models) == [PRICED_MODEL]  # period counters are not models


async def test_refusal_names_the_period(make_governor: GovernorFactory, clock: FakeClock) -> None:
    clock.advance(at("2026-12-06T10:00:00") - clock.time())
    governor = make_governor(keys=[{**KEY, "budget_limit": 0.1}])
    key = governor._config.keys[0]
    admission = await governor.admit(key=key, model="m", estimated_tokens=150)
    with pytest.raises(BudgetExceededError, match=r"1d period from 2026-12-06 \(UTC\)"):
        await admission.reserve(provider_model=PRICED_MODEL, max_cost=0.2)
    await admission.release()
