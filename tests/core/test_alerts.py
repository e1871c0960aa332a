"""`[alerts]`: a local webhook receiver gets each threshold exactly once, signed, even
when two gateways share the state and the first delivery fails."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp import web

from literllm import Proxy
from literllm.alerts import SIGNATURE_HEADER
from literllm.governance.ratelimit import estimate_prompt_tokens
from literllm.identity import key_id
from literllm.testing import FakeClock, FakeUpstream, Reply
from tests.support.configs import MASTER, config
from tests.support.services import RedisServer, free_port, redis_process_fixture  # noqa: F401

SECRET = "whsec-test-0001"
KEY = "vk-alerted-0002"
BODY = {"model": "gpt", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 16}


class Receiver:
    """A webhook receiver on 127.0.0.1 that fails its first `fail` deliveries."""

    def __init__(self, fail: int = 0) -> None:
        self.fail = fail
        self.attempts: list[tuple[dict[str, str], bytes]] = []
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.attempts.append((dict(request.headers), await request.read()))
        if self.fail > 0:
            self.fail -= 1
            return web.Response(status=500)
        return web.Response(status=204)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver(fail=1)
    app = web.Application()
    app.router.add_post("/hook", found.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    found.url = f"http://127.0.0.1:{port}/hook"
    yield found
    await runner.cleanup()


def toml(url: str, state: Path, limit: float = 1.0) -> str:
    return f"""
[[models]]
name = "gpt"
provider_model = "openai/gpt-4o"
api_key = "sk-upstream-0003"
base_url = "https://openai.test/v1"

[[keys]]
key = "{KEY}"
budget_limit = {limit!r}
budget_duration = "1d"

[state]
backend = "sqlite"
[state.backend_config]
path = "{state}"

[alerts]
webhook_urls = ["{url}"]
secret = "{SECRET}"
thresholds = [50, 80, 100]
"""


def upstream() -> FakeUpstream:
    """Answers whose usage is exactly what the gateway reserves (the prompt estimate and
    max_tokens), so every request costs its reservation."""
    usage = {
        "prompt_tokens": estimate_prompt_tokens(BODY),
        "completion_tokens": 16,
        "total_tokens": estimate_prompt_tokens(BODY) + 16,
    }
    answer = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": "gpt-4o",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}
        ],
        "usage": usage,
    }
    fake = FakeUpstream()
    fake.script(*[Reply(json=answer) for _ in range(20)])
    return fake


def verify(headers: dict[str, str], body: bytes) -> None:
    fields = dict(part.split("=", 1) for part in headers[SIGNATURE_HEADER].split(","))
    expected = hmac.new(SECRET.encode(), f"{fields['t']}.".encode() + body, hashlib.sha256)
    assert hmac.compare_digest(fields["v1"], expected.hexdigest())


async def test_each_threshold_is_delivered_once_signed(receiver: Receiver, tmp_path: Path) -> None:
    clock = FakeClock(start=datetime(2026, 12, 6, 9, tzinfo=UTC).timestamp())
    text = toml(receiver.url, tmp_path / "probe.db")
    async with Proxy.from_config(config(text), transport=upstream(), environ={}) as probe:
        cost = await spend_once(probe)  # every request here costs the same
    # one request: 45 % of the day's cap; two: 91 %; a third is refused
    text = toml(receiver.url, tmp_path / "state.db", limit=2.2 * cost)
    one = Proxy.from_config(config(text), transport=upstream(), clock=clock, environ={})
    two = Proxy.from_config(config(text), transport=upstream(), clock=clock, environ={})
    async with one, two:
        await spend_once(one)
        await check_both(one, two)
        assert receiver.attempts == []
        await spend_once(two)  # 91 %: crosses 50 and 80
        await check_both(one, two)
        await check_both(one, two)  # nothing new
        events = [json.loads(body) for _, body in receiver.attempts]
        assert len(events) == 3  # one failed attempt, retried, and the other threshold
        for headers, body in receiver.attempts:
            verify(headers, body)
        thresholds = sorted({e["threshold_percent"] for e in events})
        assert thresholds == [50, 80]
        ids = [e["id"] for e in events]
        assert len(set(ids)) == 2 and len(ids) == 3  # the 500 was retried, nothing else twice
        first = events[-1]
        assert first["event"] == "budget_threshold" and first["scope"] == "key"
        assert first["name"] == key_id(KEY) and first["period"]["start"] == "2026-12-06"
        assert KEY not in json.dumps(events) and MASTER not in json.dumps(events)

        clock.advance(86_400)  # a new day: a new period, the thresholds again
        await spend_once(one)
        await spend_once(two)
        await check_both(one, two)
        later = [json.loads(body) for _, body in receiver.attempts[3:]]
        assert sorted((e["threshold_percent"], e["period"]["start"]) for e in later) == [
            (50, "2026-12-07"),
            (80, "2026-12-07"),
        ]
        assert later[0]["spend"] == pytest.approx(2 * cost)


async def test_cooldown_and_expiry_are_delivered_once(receiver: Receiver, tmp_path: Path) -> None:
    receiver.fail = 0
    clock = FakeClock()
    text = toml(receiver.url, tmp_path / "state.db")
    async with Proxy.from_config(
        config(text), transport=FakeUpstream(), clock=clock, environ={}
    ) as p:
        alerts = p._alerts
        assert alerts is not None
        soon = datetime.fromtimestamp(clock.time() + 3600, UTC).isoformat()
        created = await p.admin.create_key({"expires_at": soon}, api_key=MASTER)
        alerts.cooldown("gpt (openai/gpt-4o #1)", "gpt", 30.0)
        alerts.cooldown("gpt (openai/gpt-4o #1)", "gpt", 30.0)
        await alerts.check()
        await alerts.check()
        await alerts.flush()
        events = sorted((json.loads(b) for _, b in receiver.attempts), key=lambda e: e["event"])
        assert [e["event"] for e in events] == ["deployment_cooldown", "key_expiring"]
        assert events[1]["key"] == created.id and created.key not in json.dumps(events)


async def spend_once(proxy: Proxy) -> float:
    before = await key_spend(proxy)
    await proxy.chat(BODY, api_key=KEY)
    return await key_spend(proxy) - before


async def key_spend(proxy: Proxy) -> float:
    keys = (await proxy.admin.keys(api_key=MASTER)).data
    return next(k.spend for k in keys if k.id == key_id(KEY))


async def check_both(one: Proxy, two: Proxy) -> None:
    for proxy in (one, two):
        assert proxy._alerts is not None
        await proxy._alerts.check()
        await proxy._alerts.flush()


async def test_state_unavailable_is_reported_once_per_outage(
    receiver: Receiver, redis_process: RedisServer
) -> None:
    receiver.fail = 0
    text = f"""
[[models]]
name = "chat"
provider_model = "mock/echo"

[state]
backend = "redis"
[state.backend_config]
url = "{redis_process.url}"
timeout_secs = 0.5

[alerts]
webhook_urls = ["{receiver.url}"]
secret = "{SECRET}"
events = ["state_unavailable"]
"""
    async with Proxy.from_config(config(text), transport=FakeUpstream(), environ={}) as proxy:
        alerts = proxy._alerts
        assert alerts is not None
        await alerts.check()
        redis_process.stop()
        await alerts.check()
        await alerts.check()
        await alerts.flush()
    events = [json.loads(body) for _, body in receiver.attempts]
    assert [e["event"] for e in events] == ["state_unavailable"]
    assert "Redis state store" in events[0]["error"]
