"""The native Responses pass-through on recorded OpenAI payloads: which deployments
take it, the request, the answer's accounting and the stream relayed event by event."""

from __future__ import annotations

import json

import pytest

from literllm.errors import UpstreamError
from literllm.providers.azure import AzureAdapter
from literllm.providers.base import Target
from literllm.providers.openai import OpenAIAdapter
from literllm.providers.openai_responses import (
    NativeResponsesDecoder,
    native_responses_request,
    native_responses_result,
    responses_source,
    serves_responses,
)
from literllm.providers.registry import ProviderRegistry
from literllm.types import UpstreamResponse, Usage
from tests.core.providers.native_checks import load_bytes
from tests.support.responses_schema import validate_responses

OPENAI = Target(
    provider="openai", model="gpt-4.1", base_url="https://api.openai.test/v1", api_key="sk-a"
)


def test_which_deployments_take_responses_natively() -> None:
    registry = ProviderRegistry()
    openai = registry.adapter("openai")
    assert serves_responses(openai, OPENAI)
    compat = registry.adapter("openrouter")
    assert not serves_responses(compat, Target(provider="openrouter", model="m", base_url="u"))
    azure = registry.adapter("azure")
    v1 = Target(provider="azure", model="dep", base_url="https://r.openai.azure.com/openai/v1")
    versioned = Target(provider="azure", model="dep", base_url="https://r.openai.azure.com")
    assert serves_responses(azure, v1)
    assert not serves_responses(azure, versioned)
    assert not serves_responses(registry.adapter("anthropic"), OPENAI)


def test_request_is_the_body_with_the_upstream_model() -> None:
    body = {"model": "gpt", "input": "hi", "tools": [{"type": "web_search"}], "store": True}
    request = native_responses_request(OpenAIAdapter(), OPENAI, body)
    assert request.url == "https://api.openai.test/v1/responses"
    assert request.headers["authorization"] == "Bearer sk-a"
    assert json.loads(request.body) == {**body, "model": "gpt-4.1"}
    assert body["model"] == "gpt"  # the client's body is not changed
    azure = Target(
        provider="azure", model="dep", base_url="https://r.openai.azure.com/openai/v1", api_key="k"
    )
    sent = native_responses_request(AzureAdapter(), azure, body)
    assert sent.url == "https://r.openai.azure.com/openai/v1/responses"
    assert sent.headers["api-key"] == "k"


def test_source_tells_credentials_apart_without_holding_them() -> None:
    same = responses_source(OPENAI)
    assert same == responses_source(
        Target(**{**_fields(OPENAI), "base_url": OPENAI.base_url + "/"})
    )
    assert same != responses_source(Target(**{**_fields(OPENAI), "api_key": "sk-b"}))
    assert "sk-a" not in same


def _fields(target: Target) -> dict[str, object]:
    return {f: getattr(target, f) for f in target.__struct_fields__}


def test_result_keeps_the_bytes_and_reads_usage() -> None:
    raw = load_bytes("openai", "responses_response.json")
    validate_responses(json.loads(raw), "Response")
    result, decoded = native_responses_result(
        OpenAIAdapter(), OPENAI, UpstreamResponse(200, {}, raw)
    )
    assert result.body == raw
    assert result.usage == Usage(
        prompt_tokens=36, completion_tokens=87, total_tokens=123, cached_tokens=20,
        reasoning_tokens=12,
    )  # fmt: skip
    assert (
        result.response_id
        == decoded["id"]
        == "resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b"
    )
    assert result.model == "gpt-4.1-2025-04-14"
    assert result.finish_reasons == ["stop"]


@pytest.mark.parametrize(
    "body",
    [
        b"[1, 2]",
        b"not json",
        b'{"object": "chat.completion", "choices": []}',
        b'{"object": "response", "usage": {"input_tokens": "many"}}',
        b'{"object": "response", "status": "failed", "error": {"code": "server_error", '
        b'"message": "boom"}}',
    ],
)
def test_a_malformed_or_failed_answer_is_an_upstream_error(body: bytes) -> None:
    with pytest.raises(UpstreamError) as caught:
        native_responses_result(OpenAIAdapter(), OPENAI, UpstreamResponse(200, {}, body))
    assert caught.value.status >= 500


@pytest.mark.parametrize("split", [None, 1, 7, 64])
def test_stream_events_pass_unchanged(split: int | None) -> None:
    data = load_bytes("openai", "responses_stream.sse")
    decoder = NativeResponsesDecoder(OpenAIAdapter(), OPENAI)
    out: list[bytes] = []
    step = split or len(data)
    for start in range(0, len(data), step):
        out.extend(decoder.feed(data[start : start + step]))
    out.extend(decoder.close())
    assert b"".join(out) == data
    assert len(out) == data.count(b"\n\n")  # one item per event
    for event in out:
        validate_responses(json.loads(event.split(b"data: ", 1)[1]), "ResponseStreamEvent")
    assert decoder.usage == Usage(prompt_tokens=37, completion_tokens=11, total_tokens=48)
    assert decoder.response_id == "resp_67c9fdcecf488190bdd9a0409de3a1ec07b8b0ad4e5eb654"
    assert decoder.response is not None and decoder.response["status"] == "completed"
    assert decoder.finish_reasons == ["stop"]


def test_a_stream_cut_before_its_terminal_event_fails() -> None:
    data = load_bytes("openai", "responses_stream.sse")
    cut = data[: data.index(b"event: response.completed")]
    decoder = NativeResponsesDecoder(OpenAIAdapter(), OPENAI)
    decoder.feed(cut)
    with pytest.raises(UpstreamError) as caught:
        decoder.close()
    assert caught.value.code == "stream_truncated"


def test_an_error_event_is_raised() -> None:
    decoder = NativeResponsesDecoder(OpenAIAdapter(), OPENAI)
    with pytest.raises(UpstreamError) as caught:
        decoder.feed(load_bytes("openai", "responses_stream_error.sse"))
    assert "server had an error" in caught.value.message
    assert caught.value.retryable


def test_an_event_that_never_ends_is_capped() -> None:
    decoder = NativeResponsesDecoder(OpenAIAdapter(), OPENAI)
    with pytest.raises(UpstreamError):
        for _ in range(20):
            decoder.feed(b"data: " + b"x" * (1024 * 1024))
