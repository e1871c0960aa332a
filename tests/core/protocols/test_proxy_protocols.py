"""`Proxy.messages` and `proxy.responses` in-process: the same journey as chat (cache,
limits, fallbacks across native and translated deployments, stored conversations)."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from literllm import ChatStream, Proxy, RateLimitError, Response
from literllm.errors import NotFoundError
from literllm.storage.responses import ResponseDeleted, ResponseItemList
from literllm.testing import FakeClock, FakeUpstream, Reply
from tests.core.providers.native_checks import load_bytes
from tests.support.configs import MASTER, config

TOML = """
[[models]]
name = "claude"
provider_model = "anthropic/claude-sonnet-4-5"
api_key = "sk-ant-upstream"
base_url = "https://anthropic.test/v1"
fallbacks = ["gpt"]

[[models]]
name = "gpt"
provider_model = "openai/gpt-4o"
api_key = "sk-openai-upstream"
base_url = "https://openai.test/v1"

[cache]
backend = "memory"
max_entries = 10

[[aliases]]
pattern = "mock/*"

[[keys]]
key = "vk-slow-0001"
rpm = 1

[[keys]]
key = "vk-other-0002"
"""

BODY: dict[str, Any] = {
    "model": "claude",
    "max_tokens": 50,
    "messages": [{"role": "user", "content": "hi"}],
}


def _proxy(upstream: FakeUpstream, clock: FakeClock) -> Proxy:
    return Proxy.from_config(config(TOML), transport=upstream, clock=clock, environ={})


async def test_messages_are_cached_apart_from_chat() -> None:
    clock, upstream = FakeClock(), FakeUpstream()
    upstream.script(Reply(200, body=load_bytes("anthropic", "messages_response.json")))
    async with _proxy(upstream, clock) as proxy:
        first = await proxy.messages(BODY, api_key=MASTER)
        second = await proxy.messages(BODY, api_key=MASTER)
    assert isinstance(first, Response) and isinstance(second, Response)
    assert second.body == first.body
    assert second.headers["x-literllm-cache"] == "hit"
    assert len(upstream.requests) == 1


async def test_key_rate_limits_apply() -> None:
    clock, upstream = FakeClock(), FakeUpstream()
    upstream.script(*[Reply(200, body=load_bytes("anthropic", "messages_response.json"))] * 2)
    async with _proxy(upstream, clock) as proxy:
        await proxy.messages(BODY, api_key="vk-slow-0001")
        with pytest.raises(RateLimitError):
            await proxy.messages({**BODY, "max_tokens": 51}, api_key="vk-slow-0001")


async def test_fallback_from_native_anthropic_to_translated_openai() -> None:
    clock, upstream = FakeClock(), FakeUpstream()
    overloaded = load_bytes("anthropic", "error_overloaded.json")
    upstream.script(*[Reply(529, body=overloaded)] * 4, url="anthropic.test")
    upstream.script(
        Reply(200, body=load_bytes("protocols", "openai_chat_tool_calls.json")),
        url="openai.test",
    )
    async with _proxy(upstream, clock) as proxy:
        answer = await proxy.messages(BODY, api_key=MASTER, headers={"cache-control": "no-cache"})
    assert isinstance(answer, Response)
    message = answer.json()
    assert message["type"] == "message" and message["stop_reason"] == "tool_use"
    assert answer.headers["x-literllm-route"].startswith("gpt")
    assert json.loads(upstream.requests[0].body)["messages"] == BODY["messages"]  # native
    assert upstream.requests[-1].url == "https://openai.test/v1/chat/completions"


async def test_streamed_messages_yield_framed_events() -> None:
    clock, upstream = FakeClock(), FakeUpstream()
    async with _proxy(upstream, clock) as proxy:
        stream = await proxy.messages(
            {**BODY, "model": "mock/echo", "stream": True}, api_key=MASTER
        )
        assert isinstance(stream, ChatStream)
        events = [e async for e in stream]
    names = [e.split(b"\n", 1)[0] for e in events]
    start = json.loads(events[0].split(b"data: ", 1)[1])
    assert start["message"]["usage"]["input_tokens"] > 0  # the gateway's estimate
    assert names[0] == b"event: message_start" and names[-1] == b"event: message_stop"
    assert b"event: content_block_delta" in names


async def test_responses_chain_and_key_isolation() -> None:
    clock, upstream = FakeClock(), FakeUpstream()
    async with _proxy(upstream, clock) as proxy:
        first = await proxy.responses.create(
            {"model": "mock/echo", "input": "hello"}, api_key="vk-other-0002"
        )
        assert isinstance(first, Response)
        first_id = first.json()["id"]
        second = await proxy.responses.create(
            {"model": "mock/echo", "input": "again", "previous_response_id": first_id},
            api_key="vk-other-0002",
        )
        assert isinstance(second, Response)
        items = await proxy.responses.input_items(
            second.json()["id"], api_key="vk-other-0002", order="asc"
        )
        with pytest.raises(NotFoundError):
            await proxy.responses.retrieve(first_id, api_key="vk-slow-0001")
        with pytest.raises(NotFoundError):
            await proxy.responses.create(
                {"model": "mock/echo", "input": "x", "previous_response_id": first_id},
                api_key="vk-slow-0001",
            )
        stored = await proxy.responses.retrieve(first_id, api_key=MASTER)
        deleted = await proxy.responses.delete(first_id, api_key="vk-other-0002")
    assert stored.id == first_id and stored.output_text == "echo: hello"
    assert stored.to_dict() == first.json()  # what the client got, every field
    assert msgspec.json.decode(msgspec.json.encode(stored)) == first.json()
    assert deleted == ResponseDeleted(id=first_id, object="response", deleted=True)
    assert isinstance(items, ResponseItemList) and items.has_more is False
    roles = [i.get("role") for i in items.data]
    assert roles == ["user", "assistant", "user"]
    sent = json.loads(upstream.requests[1].body)["messages"]
    assert sent == [
        {"role": "user", "content": "hello"},
        {"role": "assistant", "content": "echo: hello"},
        {"role": "user", "content": "again"},
    ]
