"""Rate limits, budgets, cost and cache headers over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from literllm import Proxy
from literllm.testing import FakeClock, FakeUpstream, Reply
from tests.support.configs import MASTER, config
from tests.support.openapi import validate
from tests.support.server import ServerThread

PRICED = """
[general]
master_key = "sk-master-test-0001"
enable_cost_tracking = true

[[models]]
name = "gpt"
provider_model = "openai/gpt-4o"
api_key = "sk-up"
base_url = "https://up.test/v1"

[[keys]]
key = "vk-limited-0001"
description = "limited"
rpm = 2
tpm = 100000

[[keys]]
key = "vk-budget-00002"
description = "budget"
budget_limit = 0.0126

[cache]
backend = "memory"
max_entries = 10
"""

ANSWER = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1,
    "model": "gpt-4o",
    "choices": [
        {
            "index": 0,
            "finish_reason": "stop",
            "logprobs": None,
            "message": {"role": "assistant", "content": "hi", "refusal": None},
        }
    ],
    "usage": {"prompt_tokens": 1000, "completion_tokens": 1000, "total_tokens": 2000},
}


@pytest.fixture
def upstream() -> FakeUpstream:
    fake = FakeUpstream()
    fake.script(*[Reply(200, json=ANSWER)] * 20)
    return fake


@pytest.fixture
def server(upstream: FakeUpstream) -> Iterator[ServerThread]:
    proxy = Proxy.from_config(
        config(PRICED, master=False), transport=upstream, clock=FakeClock(), environ={}
    )
    with ServerThread(proxy) as running:
        yield running


def chat(
    http: httpx.Client, key: str, text: str = "hello", headers: dict[str, str] | None = None
) -> httpx.Response:
    return http.post(
        "/v1/chat/completions",
        json={"model": "gpt", "max_tokens": 10, "messages": [{"role": "user", "content": text}]},
        headers={"authorization": f"Bearer {key}", **(headers or {})},
    )


def test_rate_limit_headers_and_429(server: ServerThread) -> None:
    with httpx.Client(base_url=server.url) as http:
        first = chat(http, "vk-limited-0001", "a")
        assert first.status_code == 200
        assert first.headers["x-ratelimit-limit-requests"] == "2"
        assert first.headers["x-ratelimit-remaining-requests"] == "1"
        assert "x-ratelimit-reset-requests" in first.headers
        assert first.headers["x-ratelimit-limit-tokens"] == "100000"
        assert chat(http, "vk-limited-0001", "b").status_code == 200
        refused = chat(http, "vk-limited-0001", "c")
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) == 60  # the fake clock never moved
        validate(refused.json(), "ErrorResponse")
        assert refused.json()["error"]["type"] == "rate_limit_error"
        assert chat(http, MASTER, "d").status_code == 200  # the master key is not limited


def test_cost_header_and_budget_402(server: ServerThread) -> None:
    with httpx.Client(base_url=server.url) as http:
        paid = chat(http, "vk-budget-00002", "one")
        assert paid.status_code == 200
        cost = float(paid.headers["x-literllm-response-cost"])
        assert cost == pytest.approx(1000 * 2.5e-6 + 1000 * 10e-6, rel=1e-6)
        broke = chat(http, "vk-budget-00002", "two")
        assert broke.status_code == 402
        message = broke.json()["error"]["message"]
        assert "budget" in message.lower() and "remain" in message.lower()
        validate(broke.json(), "ErrorResponse")


def test_cache_hit_miss_and_bypass(server: ServerThread, upstream: FakeUpstream) -> None:
    with httpx.Client(base_url=server.url) as http:
        miss = chat(http, MASTER, "cache me")
        hit = chat(http, MASTER, "cache me")
        assert (miss.headers["x-literllm-cache"], hit.headers["x-literllm-cache"]) == (
            "miss",
            "hit",
        )
        assert hit.json() == miss.json()
        assert hit.headers["x-literllm-response-cost"] == "0"
        sent = len(upstream.requests)
        no_cache = chat(http, MASTER, "cache me", {"cache-control": "no-cache"})
        assert no_cache.headers["x-literllm-cache"] == "bypass"
        assert len(upstream.requests) == sent + 1
        other_key = chat(http, "vk-limited-0001", "cache me")
        assert other_key.headers["x-literllm-cache"] == "miss"  # tenants never share
        no_store = chat(http, MASTER, "fresh", {"cache-control": "no-store"})
        assert no_store.headers["x-literllm-cache"] == "miss"
        assert chat(http, MASTER, "fresh").headers["x-literllm-cache"] == "miss"
