"""The official anthropic SDK against the real server: `/v1/messages` natively to an
Anthropic upstream and translated to OpenAI and Gemini upstreams (fake upstreams
replaying the providers' documented wire formats)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import pytest

from literllm import Proxy
from literllm.testing import FakeUpstream, Reply, StreamReply
from tests.support.configs import MASTER, config
from tests.support.server import ServerThread

DATA = Path(__file__).resolve().parents[1] / "data"

MODELS = """
[[models]]
name = "claude"
provider_model = "anthropic/claude-sonnet-4-5"
api_key = "sk-ant-upstream"
base_url = "https://anthropic.test/v1"

[[models]]
name = "gpt"
provider_model = "openai/gpt-4o"
api_key = "sk-openai-upstream"
base_url = "https://openai.test/v1"

[[models]]
name = "gemini"
provider_model = "gemini/gemini-2.0-flash"
api_key = "gm-test"
base_url = "https://gemini.test/v1beta"

[[keys]]
key = "vk-claude-only-0009"
models = ["claude"]
"""

WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Weather now",
    "input_schema": {"type": "object", "properties": {"location": {"type": "string"}}},
}


def recorded(provider: str, name: str) -> bytes:
    return (DATA / provider / name).read_bytes()


@pytest.fixture
def upstream() -> FakeUpstream:
    return FakeUpstream()


@pytest.fixture
def server(upstream: FakeUpstream) -> Iterator[ServerThread]:
    proxy = Proxy.from_config(config(MODELS), transport=upstream, environ={})
    with ServerThread(proxy) as running:
        yield running


@pytest.fixture
def client(server: ServerThread) -> anthropic.Anthropic:
    return server.track(
        anthropic.Anthropic(base_url=server.url, api_key=MASTER, max_retries=0, timeout=10)
    )


def test_native_create_passes_the_body_through_except_the_model(
    client: anthropic.Anthropic, upstream: FakeUpstream
) -> None:
    upstream.script(Reply(200, body=recorded("anthropic", "messages_response.json")))
    system = [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}]
    message = client.messages.create(
        model="claude",
        max_tokens=200,
        system=system,  # type: ignore[arg-type]
        messages=[{"role": "user", "content": "hello"}],
        thinking={"type": "enabled", "budget_tokens": 1024},
        extra_headers={
            "anthropic-beta": "interleaved-thinking-2025-05-14",
            "anthropic-version": "2099-01-01",
        },
    )
    assert message.content[0].type == "text"
    assert message.usage.input_tokens > 0
    sent = upstream.requests[0]
    assert sent.url == "https://anthropic.test/v1/messages"
    assert sent.headers["x-api-key"] == "sk-ant-upstream"
    assert sent.headers["anthropic-beta"] == "interleaved-thinking-2025-05-14"
    assert sent.headers["anthropic-version"] == "2099-01-01"  # the client's, forwarded
    body = json.loads(sent.body)
    assert body == {
        "model": "claude-sonnet-4-5",
        "max_tokens": 200,
        "system": system,
        "messages": [{"role": "user", "content": "hello"}],
        "thinking": {"type": "enabled", "budget_tokens": 1024},
    }


def test_native_answer_comes_back_byte_for_byte(
    server: ServerThread, upstream: FakeUpstream
) -> None:
    recorded_body = recorded("anthropic", "messages_response_tool_use.json")
    upstream.script(Reply(200, body=recorded_body))
    client = server.track(anthropic.Anthropic(base_url=server.url, api_key=MASTER, max_retries=0))
    raw = client.messages.with_raw_response.create(
        model="claude", max_tokens=10, messages=[{"role": "user", "content": "weather?"}]
    )
    assert raw.http_response.content == recorded_body
    assert raw.parse().stop_reason == "tool_use"


def test_native_stream_is_relayed_event_for_event(
    server: ServerThread, upstream: FakeUpstream
) -> None:
    data = recorded("anthropic", "stream_tool_use.sse")
    upstream.script(StreamReply([data], done=False))
    import httpx

    with httpx.stream(
        "POST",
        server.url + "/v1/messages",
        headers={"x-api-key": MASTER, "anthropic-version": "2023-06-01"},
        json={
            "model": "claude",
            "max_tokens": 10,
            "stream": True,
            "messages": [{"role": "user", "content": "weather?"}],
        },
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        relayed = b"".join(response.iter_bytes())
    assert relayed == data


def _translated_upstream(upstream: FakeUpstream) -> None:
    upstream.script(
        Reply(200, body=recorded("protocols", "openai_chat_tool_calls.json")),
        StreamReply([recorded("protocols", "openai_stream_tool_calls.sse")], done=False),
        url="openai.test",
    )


def test_translated_stream_accumulates_to_the_non_streaming_answer(
    client: anthropic.Anthropic, upstream: FakeUpstream
) -> None:
    _translated_upstream(upstream)
    params: dict[str, Any] = {
        "model": "gpt",
        "max_tokens": 300,
        "system": "You are a weather bot.",
        "tools": [WEATHER_TOOL],
        "messages": [{"role": "user", "content": "Paris and Oslo?"}],
    }
    whole = client.messages.create(**params)
    with client.messages.stream(**params) as stream:
        texts = list(stream.text_stream)
        final = stream.get_final_message()
    assert "".join(texts) == "Let me check both cities."
    assert final.model_dump() == whole.model_dump()
    assert whole.stop_reason == "tool_use"
    assert [b.type for b in whole.content] == ["text", "tool_use", "tool_use"]
    assert whole.content[1].input == {"location": "Paris"}  # type: ignore[union-attr]
    assert whole.usage.cache_read_input_tokens == 64
    sent = upstream.bodies()
    assert sent[0]["messages"][0] == {"role": "system", "content": "You are a weather bot."}
    assert sent[0]["tools"][0]["function"]["name"] == "get_weather"
    assert sent[1]["stream"] is True


def test_tool_round_trip_to_openai(client: anthropic.Anthropic, upstream: FakeUpstream) -> None:
    upstream.script(
        Reply(
            200,
            json={
                "id": "chatcmpl-2",
                "object": "chat.completion",
                "created": 1,
                "model": "gpt-4o",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": "15 degrees in Paris."},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 50, "completion_tokens": 6, "total_tokens": 56},
            },
        ),
        url="openai.test",
    )
    message = client.messages.create(
        model="gpt",
        max_tokens=100,
        tools=[WEATHER_TOOL],  # type: ignore[list-item]
        messages=[
            {"role": "user", "content": "Paris?"},
            {
                "role": "assistant",
                "content": [
                    {
                        "type": "tool_use",
                        "id": "call_1",
                        "name": "get_weather",
                        "input": {"location": "Paris"},
                    }
                ],
            },
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "call_1", "content": "15C"}],
            },
        ],
    )
    assert message.stop_reason == "end_turn"
    assert message.content[0].text == "15 degrees in Paris."  # type: ignore[union-attr]
    assert message.usage.input_tokens == 50 and message.usage.output_tokens == 6
    sent = upstream.bodies()[0]["messages"]
    assert sent[1]["tool_calls"][0]["id"] == "call_1"
    assert sent[2] == {"role": "tool", "tool_call_id": "call_1", "content": "15C"}


def test_gemini_upstream_streams_text(client: anthropic.Anthropic, upstream: FakeUpstream) -> None:
    upstream.script(StreamReply([recorded("gemini", "stream_text.sse")], done=False))
    with client.messages.stream(
        model="gemini", max_tokens=50, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text and final.content[0].text == text  # type: ignore[union-attr]
    assert final.stop_reason in ("end_turn", "max_tokens")
    assert final.usage.output_tokens > 0


def test_count_tokens_native_and_estimated(
    client: anthropic.Anthropic, upstream: FakeUpstream
) -> None:
    upstream.script(Reply(200, json={"input_tokens": 2095}), url="anthropic.test")
    messages: Any = [{"role": "user", "content": "hello there"}]
    native = client.messages.count_tokens(model="claude", messages=messages)
    assert native.input_tokens == 2095
    assert upstream.requests[0].url == "https://anthropic.test/v1/messages/count_tokens"
    assert json.loads(upstream.requests[0].body)["model"] == "claude-sonnet-4-5"
    estimated = client.messages.count_tokens(model="gpt", messages=messages)
    assert estimated.input_tokens >= 1
    assert len(upstream.requests) == 1


def test_errors_come_in_anthropics_shape(server: ServerThread, upstream: FakeUpstream) -> None:
    client = server.track(anthropic.Anthropic(base_url=server.url, api_key=MASTER, max_retries=0))
    with pytest.raises(anthropic.BadRequestError) as bad:
        client.messages.create(
            model="gpt",
            max_tokens=10,
            extra_body={"top_k": 5},
            messages=[{"role": "user", "content": "x"}],
        )
    assert bad.value.body == {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": bad.value.body["error"]["message"]},
    }
    assert "top_k" in bad.value.message
    stranger = server.track(
        anthropic.Anthropic(base_url=server.url, api_key="sk-nope", max_retries=0)
    )
    with pytest.raises(anthropic.AuthenticationError):
        stranger.messages.create(
            model="claude", max_tokens=10, messages=[{"role": "user", "content": "x"}]
        )
    limited = server.track(
        anthropic.Anthropic(base_url=server.url, api_key="vk-claude-only-0009", max_retries=0)
    )
    with pytest.raises(anthropic.PermissionDeniedError):
        limited.messages.create(
            model="gpt", max_tokens=10, messages=[{"role": "user", "content": "x"}]
        )
    upstream.script(
        *[Reply(529, body=recorded("anthropic", "error_overloaded.json"))] * 4,
        url="anthropic.test",
    )
    with pytest.raises(anthropic.InternalServerError) as overloaded:
        client.messages.create(
            model="claude", max_tokens=10, messages=[{"role": "user", "content": "x"}]
        )
    assert overloaded.value.status_code == 529
    assert overloaded.value.body["error"]["type"] == "overloaded_error"  # type: ignore[index]


def test_bearer_authentication_works_too(server: ServerThread, upstream: FakeUpstream) -> None:
    upstream.script(Reply(200, body=recorded("anthropic", "messages_response.json")))
    client = server.track(
        anthropic.Anthropic(base_url=server.url, auth_token=MASTER, max_retries=0)
    )
    message = client.messages.create(
        model="claude", max_tokens=10, messages=[{"role": "user", "content": "x"}]
    )
    assert message.id.startswith("msg_")


def claude_code_sized_request() -> dict[str, Any]:
    """What Claude Code sends: system blocks with cache_control, 24 tools, long history."""
    tools = [
        {
            "name": f"tool_{i}",
            "description": f"Tool number {i}. " * 20,
            "input_schema": {
                "type": "object",
                "properties": {"path": {"type": "string"}, "limit": {"type": "integer"}},
                "required": ["path"],
            },
        }
        for i in range(24)
    ]
    tools[-1]["cache_control"] = {"type": "ephemeral"}
    messages: list[dict[str, Any]] = []
    for turn in range(30):
        messages.append(
            {"role": "user", "content": [{"type": "text", "text": f"step {turn} " * 40}]}
        )
        messages.append(
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": f"Running tool_{turn % 24}."},
                    {
                        "type": "tool_use",
                        "id": f"toolu_{turn:04d}",
                        "name": f"tool_{turn % 24}",
                        "input": {"path": f"/src/file_{turn}.py"},
                    },
                ],
            }
        )
        messages.append(
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": f"toolu_{turn:04d}",
                        "content": "line\n" * 200,
                    }
                ],
            }
        )
    messages[-1]["content"].append(
        {"type": "text", "text": "continue", "cache_control": {"type": "ephemeral"}}
    )
    return {
        "max_tokens": 32000,
        "system": [
            {"type": "text", "text": "You are Claude Code, Anthropic's official CLI for Claude."},
            {
                "type": "text",
                "text": "Instructions. " * 500,
                "cache_control": {"type": "ephemeral"},
            },
        ],
        "tools": tools,
        "messages": messages,
        "metadata": {"user_id": "user_abc_account_def_session_ghi"},
    }


def test_claude_code_sized_request_round_trips(
    client: anthropic.Anthropic, upstream: FakeUpstream
) -> None:
    params = claude_code_sized_request()
    upstream.script(
        Reply(200, body=recorded("anthropic", "messages_response.json")), url="anthropic.test"
    )
    client.messages.create(model="claude", **params)
    assert json.loads(upstream.requests[-1].body) == {**params, "model": "claude-sonnet-4-5"}

    _translated_upstream(upstream)
    whole = client.messages.create(model="gpt", **params)
    with client.messages.stream(model="gpt", **params) as stream:
        final = stream.get_final_message()
    assert final.model_dump() == whole.model_dump()
    chat = upstream.bodies()[-1]
    assert len(chat["tools"]) == 24
    assert chat["messages"][0]["role"] == "system"
    assert sum(1 for m in chat["messages"] if m["role"] == "tool") == 30
    assert chat["user"] == "user_abc_account_def_session_ghi"


def test_claude_code_betas_on_a_translated_target(
    client: anthropic.Anthropic, upstream: FakeUpstream
) -> None:
    """Context management (advisory) is dropped; a server tool is still refused."""
    _translated_upstream(upstream)
    params = claude_code_sized_request()
    edits = {"edits": [{"type": "clear_tool_uses_20250919"}]}
    beta = {"anthropic-beta": "context-management-2025-06-27,interleaved-thinking-2025-05-14"}
    answer = client.messages.create(
        model="gpt",
        **params,
        extra_headers=beta,
        extra_body={"context_management": edits, "thinking": {"type": "adaptive"}},
    )
    assert answer.stop_reason == "tool_use"
    chat = upstream.bodies()[-1]
    assert "context_management" not in chat and "thinking" not in chat
    assert len(chat["tools"]) == 24
    with pytest.raises(anthropic.BadRequestError) as refused:
        client.messages.create(
            model="gpt",
            **{**params, "tools": [{"type": "web_search_20250305", "name": "web_search"}]},
        )
    assert "only on an Anthropic upstream" in refused.value.message


def test_error_mid_stream_arrives_as_anthropics_error_event(
    client: anthropic.Anthropic, upstream: FakeUpstream
) -> None:
    start, error = recorded("anthropic", "stream_error.sse").split(b"\n\n", 1)
    upstream.script(StreamReply([start + b"\n\n", error], done=False), url="anthropic.test")
    with (
        pytest.raises(anthropic.APIStatusError) as caught,
        client.messages.stream(
            model="claude", max_tokens=10, messages=[{"role": "user", "content": "x"}]
        ) as stream,
    ):
        for _ in stream:
            pass
    body: Any = caught.value.body
    assert body["type"] == "error"
    assert body["error"]["type"] == "overloaded_error"
    assert "Overloaded" in body["error"]["message"]


def test_gemini_tool_calls_stream_as_tool_use_blocks(
    client: anthropic.Anthropic, upstream: FakeUpstream
) -> None:
    upstream.script(StreamReply([recorded("gemini", "stream_tool_calls.sse")], done=False))
    with client.messages.stream(
        model="gemini",
        max_tokens=50,
        tools=[WEATHER_TOOL],  # type: ignore[list-item]
        messages=[{"role": "user", "content": "Boston and Paris?"}],
    ) as stream:
        final = stream.get_final_message()
    assert final.stop_reason == "tool_use"
    assert [b.input for b in final.content if b.type == "tool_use"] == [
        {"location": "Boston"},
        {"location": "Paris"},
    ]
    assert final.usage.input_tokens == 30 and final.usage.output_tokens == 12
