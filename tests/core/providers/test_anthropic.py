from __future__ import annotations

import json

import pytest

from literllm.errors import BadRequestError, UpstreamError
from literllm.providers.anthropic import DEFAULT_MAX_TOKENS, AnthropicAdapter
from literllm.providers.anthropic_stream import AnthropicStreamDecoder
from literllm.providers.base import Target
from literllm.transport.base import UpstreamResponse
from tests.core.providers.native_checks import (
    assert_every_split_equal,
    fake_upstream,
    load_bytes,
    load_json,
    run_stream,
    validate_openai,
)

TARGET = Target(
    provider="anthropic",
    model="claude-sonnet-4-5-20250929",
    base_url="https://api.anthropic.com/v1",
    api_key="sk-ant-secret",
)


def _request(
    body: dict[str, object], *, stream: bool = False, target: Target = TARGET
) -> dict[str, object]:
    request = AnthropicAdapter().chat_request(target, body, stream=stream)
    parsed: dict[str, object] = json.loads(request.body)
    return parsed


def test_request_matches_recorded_messages_body_field_by_field() -> None:
    adapter = AnthropicAdapter()
    request = adapter.chat_request(
        TARGET, load_json("anthropic", "openai_request.json"), stream=False
    )
    assert request.method == "POST"
    assert request.url == "https://api.anthropic.com/v1/messages"
    assert request.headers["x-api-key"] == "sk-ant-secret"
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in request.headers
    sent = json.loads(request.body)
    expected = load_json("anthropic", "messages_request.json")
    assert sorted(sent) == sorted(expected)
    for field, value in expected.items():
        assert sent[field] == value, field


def test_max_tokens_defaults_from_pricing_then_constant() -> None:
    body = {"messages": [{"role": "user", "content": "hi"}]}
    assert _request(dict(body))["max_tokens"] == DEFAULT_MAX_TOKENS
    priced = Target(provider="anthropic", model="m", base_url="u", max_output_tokens=64000)
    assert _request(dict(body), target=priced)["max_tokens"] == 64000
    assert _request({**body, "max_tokens": 10}, target=priced)["max_tokens"] == 10


def test_stream_flag_and_consecutive_tool_results_merge() -> None:
    body = {
        "messages": [
            {"role": "user", "content": "weather in two cities"},
            {
                "role": "assistant",
                "content": "Checking.",
                "tool_calls": [
                    {"id": "a", "type": "function", "function": {"name": "w", "arguments": "{}"}},
                    {"id": "b", "type": "function", "function": {"name": "w", "arguments": "{}"}},
                ],
            },
            {"role": "tool", "tool_call_id": "a", "content": "1"},
            {"role": "tool", "tool_call_id": "b", "content": [{"type": "text", "text": "2"}]},
        ]
    }
    sent = _request(body, stream=True)
    assert sent["stream"] is True
    messages = sent["messages"]
    assert isinstance(messages, list)
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert messages[1]["content"][0] == {"type": "text", "text": "Checking."}
    assert [b["tool_use_id"] for b in messages[2]["content"]] == ["a", "b"]
    assert messages[2]["content"][1]["content"] == "2"


def test_unsupported_parameters_are_rejected_by_name() -> None:
    base = {"messages": [{"role": "user", "content": "hi"}]}
    with pytest.raises(BadRequestError) as info:
        _request({**base, "n": 2})
    assert info.value.param == "n"
    with pytest.raises(BadRequestError) as info:
        _request({**base, "logprobs": True})
    assert info.value.param == "logprobs"
    with pytest.raises(BadRequestError) as info:
        _request({**base, "response_format": {"type": "json_object"}})
    assert info.value.param == "response_format"


def test_json_schema_maps_to_output_config() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    sent = _request(
        {
            "messages": [{"role": "user", "content": "hi"}],
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "x", "schema": schema},
            },
        }
    )
    assert sent["output_config"] == {"format": {"type": "json_schema", "schema": schema}}


def test_response_with_prompt_cache_usage() -> None:
    body = load_bytes("anthropic", "messages_response.json")
    result = AnthropicAdapter().chat_response(TARGET, UpstreamResponse(200, {}, body))
    parsed = validate_openai("CreateChatCompletionResponse", result.body)
    assert parsed["id"] == "msg_013Zva2CMHLNnXjNJJKqJ2EF"
    assert parsed["model"] == "claude-3-7-sonnet-20250219"
    assert parsed["choices"][0]["message"]["content"] == "Hi! My name is Claude."
    assert parsed["choices"][0]["finish_reason"] == "stop"
    assert parsed["usage"]["prompt_tokens"] == 2095 + 2051 + 2051
    assert parsed["usage"]["prompt_tokens_details"]["cached_tokens"] == 2051
    assert result.usage is not None
    assert result.usage.cached_tokens == 2051
    assert result.usage.cache_write_tokens == 2051
    assert result.usage.completion_tokens == 503
    assert result.usage.total_tokens == 2095 + 2051 + 2051 + 503
    assert result.finish_reasons == ["stop"]


def test_tool_use_response() -> None:
    body = load_bytes("anthropic", "messages_response_tool_use.json")
    result = AnthropicAdapter().chat_response(TARGET, UpstreamResponse(200, {}, body))
    parsed = validate_openai("CreateChatCompletionResponse", result.body)
    choice = parsed["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    call = choice["message"]["tool_calls"][0]
    assert call["id"] == "toolu_01A09q90qw90lq917835lq9"
    assert call["function"]["name"] == "get_weather"
    assert json.loads(call["function"]["arguments"]) == {
        "location": "San Francisco, CA",
        "unit": "celsius",
    }


def test_text_stream_becomes_openai_chunks() -> None:
    decoder = AnthropicAdapter().stream_decoder(TARGET, include_usage=True)
    chunks = [
        json.loads(c) for c in run_stream(decoder, load_bytes("anthropic", "stream_text.sse"))
    ]
    for c in chunks:
        validate_openai("CreateChatCompletionStreamResponse", c)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == "Hello!"
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"] == {"prompt_tokens": 25, "completion_tokens": 15, "total_tokens": 40}
    assert {c["id"] for c in chunks} == {"msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY"}
    assert decoder.finish_reasons == ["stop"]


def test_usage_is_filled_even_without_usage_chunk() -> None:
    decoder = AnthropicAdapter().stream_decoder(TARGET, include_usage=False)
    chunks = [
        json.loads(c) for c in run_stream(decoder, load_bytes("anthropic", "stream_text.sse"))
    ]
    assert all(c["choices"] for c in chunks)
    assert decoder.usage is not None and decoder.usage.completion_tokens == 15


def test_tool_stream_keeps_index_and_id() -> None:
    decoder = AnthropicAdapter().stream_decoder(TARGET, include_usage=True)
    chunks = [
        json.loads(c) for c in run_stream(decoder, load_bytes("anthropic", "stream_tool_use.sse"))
    ]
    calls = [
        c["choices"][0]["delta"]["tool_calls"][0]
        for c in chunks
        if c["choices"] and "tool_calls" in c["choices"][0]["delta"]
    ]
    assert calls[0]["id"] == "toolu_01T1x1fJ34qAmk2tNTrN7Up6"
    assert calls[0]["function"]["name"] == "get_weather"
    assert {c["index"] for c in calls} == {0}
    arguments = "".join(c["function"]["arguments"] for c in calls)
    assert json.loads(arguments) == {"location": "San Francisco, CA"}
    assert decoder.finish_reasons == ["tool_calls"]
    assert chunks[-1]["usage"]["prompt_tokens_details"] == {"cached_tokens": 100}
    assert chunks[-1]["usage"]["prompt_tokens"] == 572


def test_chunks_arrive_as_events_arrive() -> None:
    decoder = AnthropicAdapter().stream_decoder(TARGET, include_usage=False)
    data = load_bytes("anthropic", "stream_text.sse")
    cut = data.index(b'"Hello"}}') + len(b'"Hello"}}\n\n')
    first = decoder.feed(data[:cut])
    assert any(b'"Hello"' in c for c in first)


@pytest.mark.parametrize("name", ["stream_text.sse", "stream_tool_use.sse"])
def test_every_byte_split_gives_the_same_chunks(name: str) -> None:
    assert_every_split_equal(
        lambda: AnthropicStreamDecoder(TARGET, include_usage=True, adapter=AnthropicAdapter()),
        load_bytes("anthropic", name),
    )


def test_stream_error_event_is_retryable_overload() -> None:
    decoder = AnthropicAdapter().stream_decoder(TARGET, include_usage=False)
    with pytest.raises(UpstreamError) as info:
        run_stream(decoder, load_bytes("anthropic", "stream_error.sse"))
    assert info.value.retryable is True
    assert info.value.status == 503


def test_stream_cut_short_raises() -> None:
    data = load_bytes("anthropic", "stream_text.sse")
    decoder = AnthropicAdapter().stream_decoder(TARGET, include_usage=False)
    decoder.feed(data[: data.index(b"event: message_delta")])
    with pytest.raises(UpstreamError):
        decoder.close()


def test_errors_map_status_type_and_retryability() -> None:
    adapter = AnthropicAdapter()
    overloaded = adapter.error(TARGET, 529, {}, load_bytes("anthropic", "error_overloaded.json"))
    assert overloaded.retryable and overloaded.status == 503
    bad = adapter.error(TARGET, 400, {}, load_bytes("anthropic", "error_invalid_request.json"))
    assert not bad.retryable and bad.status == 400 and "roles must alternate" in bad.message
    limited = adapter.error(
        TARGET,
        429,
        {"retry-after": "7"},
        b'{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}',
    )
    assert limited.retryable and limited.retry_after == 7.0
    leaked = adapter.error(
        TARGET,
        400,
        {},
        b'{"type":"error","error":{"type":'
        b'"invalid_request_error","message":"bad key sk-ant-secret"}}',
    )
    assert "sk-ant-secret" not in leaked.message


def test_embeddings_are_refused_with_the_provider_named() -> None:
    with pytest.raises(BadRequestError, match="anthropic"):
        AnthropicAdapter().embeddings_request(TARGET, {"input": "x"})


async def test_official_sdk_parses_the_recorded_payloads() -> None:
    anthropic = pytest.importorskip("anthropic")
    routes = {
        ("POST", "/v1/messages"): (
            200,
            "application/json",
            load_bytes("anthropic", "messages_response.json"),
        ),
    }
    async with fake_upstream(routes) as (url, seen):
        client = anthropic.AsyncAnthropic(base_url=url, api_key="k", max_retries=0)
        message = await client.messages.create(
            model="claude-3-7-sonnet-20250219",
            max_tokens=10,
            messages=[{"role": "user", "content": "hi"}],
        )
        assert message.content[0].text == "Hi! My name is Claude."
        assert message.usage.cache_read_input_tokens == 2051
        routes[("POST", "/v1/messages")] = (
            200,
            "text/event-stream",
            load_bytes("anthropic", "stream_tool_use.sse"),
        )
        async with client.messages.stream(
            model="m", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
        ) as stream:
            final = await stream.get_final_message()
        assert final.content[1].input == {"location": "San Francisco, CA"}
        assert final.stop_reason == "tool_use"
        await client.close()
        assert [r.path for r in seen] == ["/v1/messages", "/v1/messages"]
