from __future__ import annotations

import base64
import json
import struct

import pytest

from literllm.errors import BadRequestError, UpstreamError
from literllm.providers.base import Target
from literllm.providers.gemini import GeminiAdapter
from literllm.providers.gemini_convert import gemini_schema
from literllm.providers.openai_shape import embeddings_as_base64
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
    provider="gemini",
    model="gemini-2.0-flash",
    base_url="https://generativelanguage.googleapis.com/v1beta",
    api_key="AIza-secret",
)


def test_request_matches_recorded_generate_content_field_by_field() -> None:
    request = GeminiAdapter().chat_request(
        TARGET, load_json("gemini", "openai_request.json"), stream=False
    )
    assert request.url == (
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:generateContent"
    )
    assert request.headers["x-goog-api-key"] == "AIza-secret"
    sent = json.loads(request.body)
    expected = load_json("gemini", "generate_content_request.json")
    assert sorted(sent) == sorted(expected)
    for field, value in expected.items():
        assert sent[field] == value, field


def test_stream_url_asks_for_sse() -> None:
    request = GeminiAdapter().chat_request(
        TARGET, {"messages": [{"role": "user", "content": "hi"}]}, stream=True
    )
    assert request.url.endswith("/models/gemini-2.0-flash:streamGenerateContent?alt=sse")


def test_schema_refs_are_inlined_and_unknown_keys_dropped() -> None:
    schema = {
        "type": "object",
        "$defs": {"P": {"type": "string", "const": "x"}},
        "properties": {
            "p": {"$ref": "#/$defs/P"},
            "l": {"type": "array", "items": {"$ref": "#/$defs/P"}},
        },
        "additionalProperties": False,
    }
    assert gemini_schema(schema) == {
        "type": "object",
        "properties": {
            "p": {"type": "string", "enum": ["x"]},
            "l": {"type": "array", "items": {"type": "string", "enum": ["x"]}},
        },
    }


def test_tool_result_without_matching_call_is_a_400() -> None:
    body = {"messages": [{"role": "tool", "tool_call_id": "nope", "content": "1"}]}
    with pytest.raises(BadRequestError) as info:
        GeminiAdapter().chat_request(TARGET, body, stream=False)
    assert info.value.param == "messages"


def test_logprobs_rejected_by_name() -> None:
    with pytest.raises(BadRequestError) as info:
        GeminiAdapter().chat_request(TARGET, {"messages": [], "logprobs": True}, stream=False)
    assert info.value.param == "logprobs"


def test_response_with_thoughts_and_cache() -> None:
    body = load_bytes("gemini", "generate_content_response.json")
    result = GeminiAdapter().chat_response(TARGET, UpstreamResponse(200, {}, body))
    parsed = validate_openai("CreateChatCompletionResponse", result.body)
    assert parsed["id"] == "mDvNaN2dLqnd1PIP2Ku5-AM"
    assert parsed["model"] == "gemini-2.5-flash"
    assert parsed["choices"][0]["message"]["content"].startswith("AI learns")
    assert parsed["choices"][0]["finish_reason"] == "stop"
    assert parsed["usage"] == {
        "prompt_tokens": 8,
        "completion_tokens": 42,
        "total_tokens": 50,
        "prompt_tokens_details": {"cached_tokens": 4},
        "completion_tokens_details": {"reasoning_tokens": 32},
    }
    assert result.usage is not None and result.usage.reasoning_tokens == 32


def test_function_call_response() -> None:
    body = load_bytes("gemini", "function_call_response.json")
    result = GeminiAdapter().chat_response(TARGET, UpstreamResponse(200, {}, body))
    parsed = validate_openai("CreateChatCompletionResponse", result.body)
    choice = parsed["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    call = choice["message"]["tool_calls"][0]
    assert call["id"].startswith("call_")
    assert json.loads(call["function"]["arguments"]) == {"brightness": 25, "color_temp": "warm"}


def test_blocked_prompt_is_content_filter() -> None:
    body = load_bytes("gemini", "blocked_prompt_response.json")
    result = GeminiAdapter().chat_response(TARGET, UpstreamResponse(200, {}, body))
    assert result.finish_reasons == ["content_filter"]
    validate_openai("CreateChatCompletionResponse", result.body)


def test_text_stream() -> None:
    decoder = GeminiAdapter().stream_decoder(TARGET, include_usage=True)
    chunks = [json.loads(c) for c in run_stream(decoder, load_bytes("gemini", "stream_text.sse"))]
    for c in chunks:
        validate_openai("CreateChatCompletionStreamResponse", c)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": "The"}
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text == "The quick brown fox jumps."
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["completion_tokens"] == 5
    assert {c["id"] for c in chunks} == {"Zz5NaKLvCo2ZjMcPk4KAuQo"}


def test_each_event_is_emitted_when_it_arrives() -> None:
    decoder = GeminiAdapter().stream_decoder(TARGET, include_usage=False)
    data = load_bytes("gemini", "stream_text.sse")
    first = decoder.feed(data[: data.index(b"\r\n\r\n") + 4])
    assert len(first) == 1 and b'"The"' in first[0]


def test_tool_call_stream_indexes() -> None:
    decoder = GeminiAdapter().stream_decoder(TARGET, include_usage=False)
    chunks = [
        json.loads(c) for c in run_stream(decoder, load_bytes("gemini", "stream_tool_calls.sse"))
    ]
    calls = chunks[0]["choices"][0]["delta"]["tool_calls"]
    assert [c["index"] for c in calls] == [0, 1]
    assert all(c["id"] for c in calls)
    assert json.loads(calls[1]["function"]["arguments"]) == {"location": "Paris"}
    assert decoder.finish_reasons == ["tool_calls"]
    assert decoder.usage is not None and decoder.usage.total_tokens == 42


def test_every_byte_split_gives_the_same_chunks() -> None:
    assert_every_split_equal(
        lambda: GeminiAdapter().stream_decoder(TARGET, include_usage=True),
        load_bytes("gemini", "stream_text.sse"),
    )


def test_errors() -> None:
    adapter = GeminiAdapter()
    exhausted = adapter.error(
        TARGET, 429, {}, load_bytes("gemini", "error_resource_exhausted.json")
    )
    assert exhausted.retryable and exhausted.status == 429 and exhausted.retry_after == 38.0
    invalid = adapter.error(TARGET, 400, {}, load_bytes("gemini", "error_invalid_argument.json"))
    assert not invalid.retryable and invalid.status == 400
    decoder = adapter.stream_decoder(TARGET, include_usage=False)
    with pytest.raises(UpstreamError) as info:
        run_stream(decoder, load_bytes("gemini", "stream_error.sse"))
    assert info.value.retryable and info.value.status == 503


def test_embeddings_round_trip() -> None:
    adapter = GeminiAdapter()
    request = adapter.embeddings_request(
        Target(provider="gemini", model="gemini-embedding-001", base_url=TARGET.base_url),
        {"input": ["a", "b"], "dimensions": 3},
    )
    assert request.url.endswith("/models/gemini-embedding-001:batchEmbedContents")
    assert json.loads(request.body)["requests"][1] == {
        "model": "models/gemini-embedding-001",
        "content": {"parts": [{"text": "b"}]},
        "outputDimensionality": 3,
    }
    result = adapter.embeddings_response(
        TARGET, UpstreamResponse(200, {}, load_bytes("gemini", "batch_embed_response.json"))
    )
    parsed = validate_openai("CreateEmbeddingResponse", result.body)
    assert [d["index"] for d in parsed["data"]] == [0, 1]
    assert parsed["data"][1]["embedding"] == [0.02, 0.5, -0.25]
    encoded = json.loads(embeddings_as_base64(result.body))["data"][1]["embedding"]
    assert struct.unpack("<3f", base64.b64decode(encoded)) == (0.019999999552965164, 0.5, -0.25)
    with pytest.raises(BadRequestError):
        adapter.embeddings_request(TARGET, {"input": [[1, 2]]})


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
async def test_official_sdk_parses_the_recorded_payloads() -> None:
    genai = pytest.importorskip("google.genai")
    routes = {
        ("POST", "/v1beta/models/gemini-2.0-flash:generateContent"): (
            200,
            "application/json",
            load_bytes("gemini", "function_call_response.json"),
        ),
        ("POST", "/v1beta/models/gemini-2.0-flash:streamGenerateContent"): (
            200,
            "text/event-stream",
            load_bytes("gemini", "stream_text.sse"),
        ),
        ("POST", "/v1beta/models/gemini-embedding-001:batchEmbedContents"): (
            200,
            "application/json",
            load_bytes("gemini", "batch_embed_response.json"),
        ),
    }
    async with fake_upstream(routes) as (url, _seen):
        client = genai.Client(api_key="k", http_options={"base_url": url, "api_version": "v1beta"})
        response = await client.aio.models.generate_content(
            model="gemini-2.0-flash", contents="lights"
        )
        assert response.function_calls[0].args == {"brightness": 25, "color_temp": "warm"}
        text = ""
        async for part in await client.aio.models.generate_content_stream(
            model="gemini-2.0-flash", contents="fox"
        ):
            text += part.text or ""
        assert text == "The quick brown fox jumps."
        embedded = await client.aio.models.embed_content(
            model="gemini-embedding-001", contents=["a", "b"]
        )
        assert embedded.embeddings[1].values == [0.02, 0.5, -0.25]
        await client.aio.aclose()
