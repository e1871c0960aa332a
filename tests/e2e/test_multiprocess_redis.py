"""Three gateway processes sharing one real redis-server: limits and budgets hold across
all of them, and a lost Redis fails closed."""

from __future__ import annotations

import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from literllm.governance.ratelimit import estimate_prompt_tokens
from literllm.pricing import Pricing
from tests.support.process import Gateway, Gateways, gateways_fixture  # noqa: F401
from tests.support.services import (
    REDIS_PASSWORD,
    HttpUpstream,
    RedisServer,
    redis_url_fixture,  # noqa: F401
    redis_with_password_fixture,  # noqa: F401
)

MASTER = "sk-master-redis-0001"


def redis_toml(url: str, body: str, *, prefix: str | None = None, timeout: float = 2.0) -> str:
    prefix = prefix or f"test-{uuid.uuid4().hex[:12]}:"
    return f"""
[server]
host = "127.0.0.1"

[general]
master_key = "{MASTER}"

{body}

[state]
backend = "redis"

[state.backend_config]
url = "{url}"
prefix = "{prefix}"
timeout_secs = {timeout}
"""


def start_three(gateways: Gateways, text: str) -> list[Gateway]:
    created = [gateways.create(text) for _ in range(3)]
    for gateway in created:
        gateway.spawn()
    for gateway in created:  # all three boot at once; each must come up
        if not gateway.wait_ready(30):
            raise RuntimeError(f"gateway exited: {gateway.stderr()[-3000:]}")
    return created


def spread(
    gateways: list[Gateway], count: int, key: str, body: dict[str, Any]
) -> list[httpx.Response]:
    """`count` chat requests, round-robin over `gateways`, 12 at a time."""
    clients = [httpx.Client(base_url=g.url, timeout=30) for g in gateways]
    try:

        def send(index: int) -> httpx.Response:
            return clients[index % len(clients)].post(
                "/v1/chat/completions", json=body, headers={"authorization": f"Bearer {key}"}
            )

        with ThreadPoolExecutor(max_workers=12) as pool:
            return list(pool.map(send, range(count)))
    finally:
        for client in clients:
            client.close()


RPM = """
[[models]]
name = "chat"
provider_model = "mock/echo"

[[keys]]
key = "vk-shared-rpm-0002"
description = "shared rpm"
rpm = 30
"""


def test_rpm_holds_across_three_processes(gateways: Gateways, redis_url: str) -> None:
    three = start_three(gateways, redis_toml(redis_url, RPM))
    body = {"model": "chat", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}
    responses = spread(three, 60, "vk-shared-rpm-0002", body)
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {200: 30, 429: 30}, {r.status_code: r.text for r in responses}
    for response in responses:
        assert response.headers["x-ratelimit-limit-requests"] == "30"
        if response.status_code == 429:
            assert int(response.headers["retry-after"]) >= 1
            assert response.json()["error"]["code"] == "rate_limit_exceeded"


PAID_BODY: dict[str, Any] = {
    "model": "gpt",
    "messages": [{"role": "user", "content": "how much?"}],
    "max_tokens": 16,
}


def test_budget_holds_across_three_processes(gateways: Gateways, redis_url: str) -> None:
    """Usage equals the gateway's reservation (prompt estimate + max_tokens at gpt-4o's
    prices), so a budget of N.5 requests admits exactly N, however they interleave."""
    price = Pricing.load().price("openai/gpt-4o")
    assert price is not None and price.output > 0
    prompt = estimate_prompt_tokens(PAID_BODY)
    cost = price.max_cost(prompt, PAID_BODY["max_tokens"])
    fits = 7
    with HttpUpstream(prompt_tokens=prompt, completion_tokens=PAID_BODY["max_tokens"]) as up:
        body = f"""
[[models]]
name = "gpt"
provider_model = "openai/gpt-4o"
api_key = "sk-upstream-redis-0003"
base_url = "{up.base_url}"

[[keys]]
key = "vk-shared-budget-0004"
description = "shared budget"
budget_limit = {(fits + 0.5) * cost!r}
"""
        three = start_three(gateways, redis_toml(redis_url, body))
        responses = spread(three, 3 * fits, "vk-shared-budget-0004", PAID_BODY)
        statuses = Counter(r.status_code for r in responses)
        assert statuses == {200: fits, 402: 2 * fits}, [r.text for r in responses]
        for response in responses:
            if response.status_code == 402:
                error = response.json()["error"]
                assert error["type"] == "budget_exceeded"
        assert len(up.requests) == fits  # refused requests never reach the upstream

        keys = httpx.get(
            f"{three[1].url}/admin/keys", headers={"authorization": f"Bearer {MASTER}"}
        ).json()["data"]
        assert keys[0]["spend"] == pytest.approx(fits * cost)


def test_lost_redis_fails_closed_with_503(
    gateways: Gateways, redis_with_password: RedisServer
) -> None:
    """Killed mid-test: the next limited request is refused with 503, never let through.
    The Redis URL carries a password, which must never reach a client or a log."""
    redis_process = redis_with_password
    assert REDIS_PASSWORD in redis_process.url
    gateway = gateways.start(redis_toml(redis_process.url, RPM, timeout=0.5))
    body = {"model": "chat", "messages": [{"role": "user", "content": "hi"}]}
    headers = {"authorization": "Bearer vk-shared-rpm-0002"}
    before = httpx.post(f"{gateway.url}/v1/chat/completions", json=body, headers=headers)
    assert before.status_code == 200, before.text

    redis_process.stop()
    after = httpx.post(f"{gateway.url}/v1/chat/completions", json=body, headers=headers, timeout=30)
    assert after.status_code == 503, after.text
    error = after.json()["error"]
    assert "rate limits and budgets" in error["message"]
    assert "fail_open" in error["message"]  # says what the operator can do
    assert after.json()["error"]["type"] == "service_unavailable"
    assert REDIS_PASSWORD not in after.text
    assert gateway.returncode is None
    assert httpx.get(f"{gateway.url}/health/liveness").status_code == 200
    gateway.stop()
    assert REDIS_PASSWORD not in gateway.stderr() + gateway.stdout()
