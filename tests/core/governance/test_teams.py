"""`[[teams]]` (extension): a team's limits bind all its keys together, on top of each
key's own."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from literllm import BadRequestError, ConfigError, PermissionDeniedError, Proxy
from literllm.config import parse_config
from literllm.errors import BudgetExceededError, RateLimitError
from literllm.governance.governor import Governor
from literllm.types import Usage
from tests.support.configs import MASTER

from .governance_support import PRICED_MODEL, FakeClock, GovernorFactory

USAGE = Usage(prompt_tokens=100, completion_tokens=50, total_tokens=150)  # $0.2
TEAM = {"name": "research", "budget_limit": 0.4}
KEYS = [
    {"key": "vk-team-a", "team": "research"},
    {"key": "vk-team-b", "team": "research", "budget_limit": 10.0},
    {"key": "vk-solo"},
]


async def spend(governor: Governor, index: int) -> bool:
    key = governor._config.keys[index]
    admission = await governor.admit(key=key, model="m", estimated_tokens=150)
    async with admission:
        try:
            await admission.reserve(provider_model=PRICED_MODEL, max_cost=0.2)
        except BudgetExceededError as error:
            assert 'the budget_limit of team "research"' in str(error)
            return False
        await admission.settle(provider_model=PRICED_MODEL, usage=USAGE)
    return True


async def test_a_team_budget_stops_all_its_keys(make_governor: GovernorFactory) -> None:
    governor = make_governor(keys=KEYS, teams=[TEAM])
    assert await spend(governor, 0) and await spend(governor, 1)
    assert not await spend(governor, 0)
    assert not await spend(governor, 1)  # its own $10 cap is not what binds
    assert await spend(governor, 2)  # a key outside the team is unaffected
    counters = await governor.spend_counters()
    assert counters["team:research"] == pytest.approx(0.4)


async def test_a_team_budget_with_a_period_comes_back(
    make_governor: GovernorFactory, clock: FakeClock
) -> None:
    clock.advance(datetime(2026, 12, 6, 22, tzinfo=UTC).timestamp() - clock.time())
    governor = make_governor(keys=KEYS, teams=[{**TEAM, "budget_duration": "1d"}])
    assert [await spend(governor, i % 2) for i in range(3)] == [True, True, False]
    clock.advance(2 * 3600)
    assert await spend(governor, 1)
    assert (await governor.spend_counters())["team:research@1d:2026-12-07"] == pytest.approx(0.2)


async def test_a_team_rpm_binds_its_keys_together(make_governor: GovernorFactory) -> None:
    governor = make_governor(keys=KEYS, teams=[{"name": "research", "rpm": 2}])
    keys = governor._config.keys
    for index in (0, 1):
        await (await governor.admit(key=keys[index], model="m", estimated_tokens=1)).release()
    with pytest.raises(RateLimitError, match="team 'research' allows 2 requests per minute"):
        await governor.admit(key=keys[0], model="m", estimated_tokens=1)
    await (await governor.admit(key=keys[2], model="m", estimated_tokens=1)).release()


TOML = """
[[models]]
name = "chat"
provider_model = "mock/echo"

[[models]]
name = "other"
provider_model = "mock/echo"

[[teams]]
name = "research"
models = ["chat"]
rpm = 2

[[keys]]
key = "vk-in-team"
team = "research"
"""
BODY = {"model": "chat", "messages": [{"role": "user", "content": "hi"}]}


async def test_team_models_and_runtime_keys_join_the_team() -> None:
    config = parse_config(f'[general]\nmaster_key = "{MASTER}"\n' + TOML, "t.toml", environ={})
    async with Proxy.from_config(config, clock=FakeClock(), environ={}) as proxy:
        with pytest.raises(PermissionDeniedError, match="limited to: chat"):
            await proxy.chat({**BODY, "model": "other"}, api_key="vk-in-team")
        created = await proxy.admin.create_key({"team": "research"}, api_key=MASTER)
        assert created.team == "research"
        with pytest.raises(PermissionDeniedError):
            await proxy.chat({**BODY, "model": "other"}, api_key=created.key)
        await proxy.chat(BODY, api_key="vk-in-team")
        await proxy.chat(BODY, api_key=created.key)
        with pytest.raises(RateLimitError):  # the team's rpm of 2 is used up by both
            await proxy.chat(BODY, api_key="vk-in-team")
        with pytest.raises(BadRequestError) as unknown:
            await proxy.admin.create_key({"team": "nobody"}, api_key=MASTER)
        assert unknown.value.param == "team"
        listed = (await proxy.admin.keys(api_key=MASTER)).data
        assert [k.team for k in listed] == ["research", "research"]


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[[keys]]\nkey = "a"\nteam = "x"\n', 'unknown team "x" in [[keys]] #1'),
        ('[[teams]]\nname = "x"\n[[teams]]\nname = "x"\n', 'duplicate team "x"'),
        ('[[teams]]\nname = "x"\nbudget_duration = "1y"\n', "calendar months"),
        ('[[teams]]\nname = "x"\nrpm = -1\n', "rpm"),
    ],
)
def test_team_config_errors(toml: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_config(toml, "t.toml", environ={})
