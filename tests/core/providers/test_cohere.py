from __future__ import annotations

import json

import httpx
import pytest

from literllm.errors import BadRequestError, UpstreamError
from literllm.providers.base import Target
from literllm.providers.cohere import CohereAdapter
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
    provider="cohere",
    model="command-a-03-2025",
    base_url="https://api.cohere.com/v2",
    api_key="co-secret",
)


def test_request_matches_recorded_chat_body_field_by_field() -> None:
    request = CohereAdapter().chat_request(
        TARGET, load_json("cohere", "openai_request.json"), stream=False
    )
    assert request.url == "https://api.cohere.com/v2/chat"
    assert request.headers["authorization"] == "Bearer co-secret"
    sent = json.loads(request.body)
    expected = load_json("cohere", "chat_request.json")
    assert sorted(sent) == sorted(expected)
    for field, value in expected.items():
        assert sent[field] == value, field


def test_named_tool_choice_offers_only_that_tool() -> None:
    tools = [{"type": "function", "function": {"name": n, "parameters": {}}} for n in "ab"]
    request = CohereAdapter().chat_request(
        TARGET,
        {
            "messages": [{"role": "user", "content": "x"}],
            "tools": tools,
            "tool_choice": {"type": "function", "function": {"name": "b"}},
        },
        stream=True,
    )
    sent = json.loads(request.body)
    assert [t["function"]["name"] for t in sent["tools"]] == ["b"]
    assert sent["tool_choice"] == "REQUIRED" and sent["stream"] is True


def test_n_rejected() -> None:
    with pytest.raises(BadRequestError) as info:
        CohereAdapter().chat_request(TARGET, {"messages": [], "n": 2}, stream=False)
    assert info.value.param == "n"


def test_response_usage_counts_real_tokens_and_cache() -> None:
    result = CohereAdapter().chat_response(
        TARGET, UpstreamResponse(200, {}, load_bytes("cohere", "chat_response.json"))
    )
    parsed = validate_openai("CreateChatCompletionResponse", result.body)
    assert parsed["id"] == "c14c80c3-18eb-4519-9460-6c92edd8cfb4"
    assert parsed["choices"][0]["message"]["content"].startswith("LLMs are")
    assert parsed["choices"][0]["finish_reason"] == "stop"
    assert parsed["usage"] == {
        "prompt_tokens": 71,
        "completion_tokens": 11,
        "total_tokens": 82,
        "prompt_tokens_details": {"cached_tokens": 64},
    }


def test_tool_call_response() -> None:
    result = CohereAdapter().chat_response(
        TARGET, UpstreamResponse(200, {}, load_bytes("cohere", "chat_response_tool_call.json"))
    )
    parsed = validate_openai("CreateChatCompletionResponse", result.body)
    choice = parsed["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["tool_calls"][0]["id"] == "get_weather_1byjy32y4hvq"
    assert json.loads(choice["message"]["tool_calls"][0]["function"]["arguments"]) == {
        "location": "Toronto"
    }


def test_text_stream() -> None:
    decoder = CohereAdapter().stream_decoder(TARGET, include_usage=True)
    chunks = [json.loads(c) for c in run_stream(decoder, load_bytes("cohere", "stream_text.sse"))]
    for c in chunks:
        validate_openai("CreateChatCompletionStreamResponse", c)
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text == "A large language model"
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["usage"] == {"prompt_tokens": 72, "completion_tokens": 4, "total_tokens": 76}
    assert {c["id"] for c in chunks} == {"29f14a5a-11de-4cae-9800-25e4747408ea"}


def test_tool_call_stream_keeps_index_and_id() -> None:
    decoder = CohereAdapter().stream_decoder(TARGET, include_usage=False)
    chunks = [
        json.loads(c) for c in run_stream(decoder, load_bytes("cohere", "stream_tool_calls.sse"))
    ]
    calls = [
        c["choices"][0]["delta"]["tool_calls"][0]
        for c in chunks
        if "tool_calls" in c["choices"][0]["delta"]
    ]
    assert [c["index"] for c in calls] == [0, 0, 0, 1]
    assert calls[0]["id"] == "get_weather_nsz5zm3w56q3" and calls[3]["id"] == "get_weather_2"
    assert json.loads("".join(c["function"]["arguments"] for c in calls[:3])) == {
        "location": "Toronto"
    }
    assert decoder.finish_reasons == ["tool_calls"]
    assert decoder.usage is not None and decoder.usage.prompt_tokens == 1022


@pytest.mark.parametrize("name", ["stream_text.sse", "stream_tool_calls.sse"])
def test_every_byte_split_gives_the_same_chunks(name: str) -> None:
    assert_every_split_equal(
        lambda: CohereAdapter().stream_decoder(TARGET, include_usage=True),
        load_bytes("cohere", name),
    )


def test_stream_error_and_truncation() -> None:
    error = (
        b'event: message-end\ndata: {"type":"message-end","delta":{"error":"internal",'
        b'"finish_reason":"ERROR"}}\n\n'
    )
    with pytest.raises(UpstreamError, match="internal"):
        CohereAdapter().stream_decoder(TARGET, include_usage=False).feed(error)
    data = load_bytes("cohere", "stream_text.sse")
    decoder = CohereAdapter().stream_decoder(TARGET, include_usage=False)
    decoder.feed(data[: data.index(b"event: message-end")])
    with pytest.raises(UpstreamError):
        decoder.close()


def test_errors() -> None:
    adapter = CohereAdapter()
    limited = adapter.error(TARGET, 429, {}, load_bytes("cohere", "error_rate_limit.json"))
    assert limited.retryable and limited.status == 429 and "Trial key" in limited.message
    bad = adapter.error(TARGET, 400, {}, load_bytes("cohere", "error_bad_request.json"))
    assert not bad.retryable and bad.status == 400


def test_embeddings_round_trip() -> None:
    adapter = CohereAdapter()
    target = Target(provider="cohere", model="embed-v4.0", base_url=TARGET.base_url)
    request = adapter.embeddings_request(target, {"input": ["hello", "goodbye"], "dimensions": 256})
    assert request.url == "https://api.cohere.com/v2/embed"
    assert json.loads(request.body) == {
        "model": "embed-v4.0",
        "texts": ["hello", "goodbye"],
        "input_type": "search_document",
        "embedding_types": ["float"],
        "output_dimension": 256,
    }
    result = adapter.embeddings_response(
        target, UpstreamResponse(200, {}, load_bytes("cohere", "embed_response.json"))
    )
    parsed = validate_openai("CreateEmbeddingResponse", result.body)
    assert parsed["data"][1]["embedding"] == [0.25, -0.5, 0.75]
    assert parsed["usage"] == {"prompt_tokens": 2, "total_tokens": 2}


async def test_official_sdk_parses_the_recorded_payloads() -> None:
    cohere = pytest.importorskip("cohere")
    routes = {
        ("POST", "/v2/chat"): (
            200,
            "application/json",
            load_bytes("cohere", "chat_response_tool_call.json"),
        ),
        ("POST", "/v2/embed"): (
            200,
            "application/json",
            load_bytes("cohere", "embed_response.json"),
        ),
    }
    async with fake_upstream(routes) as (url, _seen):
        http = httpx.AsyncClient()  # the SDK has no close() of its own
        client = cohere.AsyncClientV2(api_key="k", base_url=url, httpx_client=http)
        answer = await client.chat(
            model="command-a-03-2025", messages=[{"role": "user", "content": "weather"}]
        )
        assert answer.message.tool_calls[0].function.name == "get_weather"
        assert answer.usage.tokens.input_tokens == 1022
        embedded = await client.embed(
            model="embed-v4.0",
            texts=["hello", "goodbye"],
            input_type="search_document",
            embedding_types=["float"],
        )
        assert embedded.embeddings.float_[1] == [0.25, -0.5, 0.75]
        routes[("POST", "/v2/chat")] = (
            200,
            "text/event-stream",
            load_bytes("cohere", "stream_tool_calls.sse"),
        )
        kinds = [
            event.type
            async for event in client.chat_stream(
                model="command-a-03-2025", messages=[{"role": "user", "content": "weather"}]
            )
        ]
        assert kinds[0] == "message-start" and kinds[-1] == "message-end"
        assert "tool-call-delta" in kinds
        await http.aclose()
