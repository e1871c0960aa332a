"""Spend per end user (OpenAI `user`) and `proxy.admin.spend(group_by=...)`."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from literllm import BadRequestError, Proxy
from literllm.governance.endusers import OTHER, EndUsers, end_user_of
from literllm.governance.spendreport import SpendBreakdown, SpendRow
from literllm.identity import key_id
from literllm.state.records import MemoryRecordStore, RecordStore
from literllm.state.records_redis import RedisRecordStore
from literllm.state.records_sqlite import SQLiteRecordStore
from literllm.testing import FakeClock, FakeUpstream
from tests.support.configs import MASTER, config
from tests.support.services import redis_url_fixture  # noqa: F401

TOML = """
[[models]]
name = "gpt"
provider_model = "openai/gpt-4o"
api_key = "sk-upstream-0001"
base_url = "https://openai.test/v1"

[[teams]]
name = "research"

[[keys]]
key = "vk-research-a"
team = "research"

[[keys]]
key = "vk-solo-b"
"""
A, B = key_id("vk-research-a"), key_id("vk-solo-b")


def body(user: str | None = None) -> dict[str, object]:
    found: dict[str, object] = {"model": "gpt", "messages": [{"role": "user", "content": "hi"}]}
    if user is not None:
        found["user"] = user
    return found


async def spend_two_days(proxy: Proxy, clock: FakeClock) -> float:
    """A: alice twice and bob on day one; B once; A: alice on day two. Returns one
    request's cost (every request is the same)."""
    calls = [("vk-research-a", "alice")] * 2 + [("vk-research-a", "bob"), ("vk-solo-b", None)]
    for api_key, user in calls:
        await proxy.chat(body(user), api_key=api_key)
    clock.advance(86_400)
    await proxy.chat(body("alice"), api_key="vk-research-a")
    lifetime = await proxy.admin.spend(api_key=MASTER)
    assert not isinstance(lifetime, SpendBreakdown)
    cost = next(k.spend for k in lifetime.keys if k.id == B)
    assert cost > 0
    return cost


async def report(proxy: Proxy, **query: str) -> SpendBreakdown:
    answer = await proxy.admin.spend(api_key=MASTER, **query)
    assert isinstance(answer, SpendBreakdown)
    return answer


async def test_spend_by_end_user_team_model_and_day() -> None:
    clock = FakeClock(start=datetime(2026, 12, 6, 10, tzinfo=UTC).timestamp())
    async with Proxy.from_config(
        config(TOML), transport=FakeUpstream(), clock=clock, environ={}
    ) as proxy:
        cost = await spend_two_days(proxy, clock)

        users = await report(proxy, group_by="end_user", key=A)
        assert [(r.key, r.end_user) for r in users.data] == [(A, "alice"), (A, "bob")]
        assert [r.spend for r in users.data] == pytest.approx([3 * cost, cost])

        days = await report(proxy, group_by="period")
        assert [r.period for r in days.data] == ["2026-12-06", "2026-12-07"]
        assert [r.spend for r in days.data] == pytest.approx([4 * cost, cost])
        assert days.total == pytest.approx(5 * cost)

        teams = await report(proxy, group_by="team")
        assert [(r.team, r.spend) for r in teams.data] == [("research", pytest.approx(4 * cost))]

        keys = await report(proxy, group_by="key", start="2026-12-06", end="2026-12-06")
        assert {r.key: r.spend for r in keys.data} == pytest.approx({A: 3 * cost, B: cost})

        late = await report(proxy, group_by="model,period", start="2026-12-07")
        assert [(r.period, r.model) for r in late.data] == [("2026-12-07", "openai/gpt-4o")]
        csv = late.csv().splitlines()
        assert csv[0] == "period,model,spend"
        assert csv[1].startswith("2026-12-07,openai/gpt-4o,")

        lifetime = await proxy.admin.spend(api_key=MASTER)
        assert not isinstance(lifetime, SpendBreakdown)
        assert lifetime.global_.spend == pytest.approx(5 * cost)


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ({"group_by": "key,team"}, "group_by"),
        ({"group_by": "colour"}, "group_by"),
        ({"start": "yesterday"}, "start"),
        ({"start": "2026-12-07", "end": "2026-12-06"}, "start"),
    ],
)
async def test_bad_spend_queries_are_400(query: dict[str, str], param: str) -> None:
    async with Proxy.from_config(config(TOML), transport=FakeUpstream(), environ={}) as proxy:
        with pytest.raises(BadRequestError) as refused:
            await proxy.admin.spend(api_key=MASTER, **query)
        assert refused.value.param == param


def test_csv_cells_cannot_be_formulas() -> None:
    table = SpendBreakdown(
        group_by=["end_user"],
        start=None,
        end=None,
        total=1.0,
        data=[SpendRow(key="k-1", end_user='=HYPERLINK("x"),1', spend=1.0)],
    )
    assert table.csv().splitlines()[1] == 'k-1,"\'=HYPERLINK(""x""),1",1.0'


@pytest.mark.parametrize(
    ("request_body", "user"),
    [
        ({"user": "alice"}, "alice"),
        ({"metadata": {"user_id": "u-7"}}, "u-7"),
        ({"user": ""}, None),
        ({"user": 7}, None),
        ({"user": "x" * 300}, "x" * 256),
        ({}, None),
    ],
)
def test_end_user_of(request_body: dict[str, object], user: str | None) -> None:
    assert end_user_of(request_body) == user


def record_store(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> RecordStore:
    if backend == "memory":
        return MemoryRecordStore()
    if backend == "sqlite":
        return SQLiteRecordStore(tmp_path / "state.db")
    url = request.getfixturevalue("redis_url")
    return RedisRecordStore(url, prefix=f"test-{uuid.uuid4().hex[:8]}:")


@pytest.mark.parametrize("backend", ["memory", "sqlite", "redis"])
async def test_end_users_per_key_are_bounded_in_the_store(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    store = record_store(backend, tmp_path, request)
    await store.start()
    try:
        first, second = EndUsers(store, limit=2), EndUsers(store, limit=2)  # two processes
        assert await first.counter("k-1", "alice") == "user:k-1:alice"
        assert await second.counter("k-1", "bob") == "user:k-1:bob"
        assert await first.counter("k-1", "carol") == f"user:k-1:{OTHER}"
        assert await first.counter("k-1", "bob") == "user:k-1:bob"  # tracked elsewhere
        assert await second.counter("k-2", "carol") == "user:k-2:carol"  # per key
        assert await store.version("endusers:k-1") == 0  # sets do not bump versions
    finally:
        await store.aclose()


@pytest.mark.parametrize("backend", ["memory", "sqlite", "redis"])
async def test_record_store_operations(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    store = record_store(backend, tmp_path, request)
    await store.start()
    try:
        assert await store.all("t") == (0, {})
        assert await store.put("t", "a", b"1", only_new=True)
        assert not await store.put("t", "a", b"2", only_new=True)
        assert await store.put("t", "a", b"3")
        assert await store.get("t", "a") == b"3"
        assert await store.version("t") == 2
        assert await store.delete("t", "a") and not await store.delete("t", "a")
        assert await store.all("t") == (3, {})
        assert await store.get("t", "a") is None
    finally:
        await store.aclose()
