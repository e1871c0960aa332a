from __future__ import annotations

import asyncio
import datetime
import json
from typing import Any

import pytest

from literllm.errors import BadRequestError, ConfigError, UpstreamError
from literllm.providers.base import Target
from literllm.providers.bedrock import BedrockAdapter, resolve_base_url
from literllm.providers.bedrock_signing import AwsCredentials, region_from_url, sign_request
from literllm.transport.base import UpstreamResponse
from tests.core.providers.native_checks import (
    assert_every_split_equal,
    converse_stream_bytes,
    fake_upstream,
    load_bytes,
    load_json,
    run_stream,
    validate_openai,
)

CREDS = AwsCredentials(
    access_key_id="AKIDEXAMPLE",
    secret_access_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    session_token="FQoGZXIvYXdzEXAMPLETOKEN",
)
MODEL = "anthropic.claude-3-5-sonnet-20240620-v1:0"
TARGET = Target(
    provider="bedrock",
    model=MODEL,
    base_url="https://bedrock-runtime.us-west-2.amazonaws.com",
    api_key=CREDS.to_api_key(),
)


def test_request_matches_recorded_converse_body_and_is_signed() -> None:
    request = BedrockAdapter().chat_request(
        TARGET, load_json("bedrock", "openai_request.json"), stream=False
    )
    assert request.url == (
        "https://bedrock-runtime.us-west-2.amazonaws.com/model/"
        "anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse"
    )
    sent = json.loads(request.body)
    expected = load_json("bedrock", "converse_request.json")
    assert sorted(sent) == sorted(expected)
    for field, value in expected.items():
        assert sent[field] == value, field
    auth = request.headers["Authorization"]
    assert auth.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/us-west-2/bedrock/aws4_request" in auth
    assert request.headers["X-Amz-Security-Token"] == "FQoGZXIvYXdzEXAMPLETOKEN"
    assert "X-Amz-Date" in request.headers


def test_stream_request_path_and_accept() -> None:
    request = BedrockAdapter().chat_request(
        TARGET, {"messages": [{"role": "user", "content": "hi"}]}, stream=True
    )
    assert request.url.endswith("/converse-stream")
    assert request.headers["accept"] == "application/vnd.amazon.eventstream"


def test_sigv4_matches_the_aws_documented_example(monkeypatch: pytest.MonkeyPatch) -> None:
    # AWS SigV4 test suite "get-vanilla": fixed clock, documented signature
    import botocore.auth

    monkeypatch.setattr(
        botocore.auth, "get_current_datetime", lambda: datetime.datetime(2015, 8, 30, 12, 36, 0)
    )
    headers = sign_request(
        "GET",
        "https://example.amazonaws.com/",
        {},
        b"",
        AwsCredentials(access_key_id="AKIDEXAMPLE", secret_access_key=CREDS.secret_access_key),
        region="us-east-1",
        service="service",
    )
    assert headers["Authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
        "SignedHeaders=host;x-amz-date, "
        "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
    )


def test_bedrock_api_key_is_sent_as_bearer() -> None:
    target = Target(
        provider="bedrock",
        model="m",
        base_url=TARGET.base_url,
        api_key="ABSKQmVkcm9ja0FQSUtleS1example",
    )
    request = BedrockAdapter().chat_request(
        target, {"messages": [{"role": "user", "content": "hi"}]}, stream=False
    )
    assert request.headers["authorization"] == "Bearer ABSKQmVkcm9ja0FQSUtleS1example"


def test_credentials_encoding_round_trips_and_hides_secret() -> None:
    assert AwsCredentials.from_api_key(CREDS.to_api_key()) == CREDS
    assert AwsCredentials.from_api_key("bearer-token") is None
    assert CREDS.secret_access_key not in repr(CREDS)
    with pytest.raises(ConfigError):
        AwsCredentials.from_api_key("a::b")


def test_region_and_base_url_resolution() -> None:
    assert (
        resolve_base_url({"AWS_DEFAULT_REGION": "eu-west-1"})
        == "https://bedrock-runtime.eu-west-1.amazonaws.com"
    )
    assert (
        resolve_base_url({"AWS_REGION": "us-east-2", "AWS_DEFAULT_REGION": "x"})
        == "https://bedrock-runtime.us-east-2.amazonaws.com"
    )
    assert resolve_base_url({}) is None
    assert (
        region_from_url("https://vpce-1.bedrock-runtime.ap-south-1.vpce.amazonaws.com")
        == "ap-south-1"
    )


def test_unsupported_parameters_and_images() -> None:
    adapter = BedrockAdapter()
    base = {"messages": [{"role": "user", "content": "hi"}]}
    for param, value in (
        ("n", 3),
        ("response_format", {"type": "json_object"}),
        ("logprobs", True),
    ):
        with pytest.raises(BadRequestError) as info:
            adapter.chat_request(TARGET, {**base, param: value}, stream=False)
        assert info.value.param == param
    with pytest.raises(BadRequestError, match="http"):
        adapter.chat_request(
            TARGET,
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}],
                    }
                ]
            },
            stream=False,
        )


def test_response_with_tool_use_and_cache() -> None:
    result = BedrockAdapter().chat_response(
        TARGET,
        UpstreamResponse(
            200, {"x-amzn-RequestId": "req-1"}, load_bytes("bedrock", "converse_response.json")
        ),
    )
    parsed = validate_openai("CreateChatCompletionResponse", result.body)
    assert parsed["id"] == "chatcmpl-req-1"
    assert parsed["model"] == MODEL
    choice = parsed["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] == "Let me look up the top song."
    assert choice["message"]["tool_calls"][0]["id"] == "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q"
    assert json.loads(choice["message"]["tool_calls"][0]["function"]["arguments"]) == {
        "sign": "WZPZ"
    }
    assert result.usage is not None
    assert (result.usage.prompt_tokens, result.usage.cached_tokens) == (475, 100)
    assert result.usage.total_tokens == 511


def _stream(name: str) -> bytes:
    return converse_stream_bytes(load_json("bedrock", name))


def test_event_stream_becomes_openai_chunks() -> None:
    decoder = BedrockAdapter().stream_decoder(TARGET, include_usage=True)
    chunks = [json.loads(c) for c in run_stream(decoder, _stream("converse_stream_events.json"))]
    for c in chunks:
        validate_openai("CreateChatCompletionStreamResponse", c)
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text == "Let me check the chart."
    calls = [
        c["choices"][0]["delta"]["tool_calls"][0]
        for c in chunks
        if c["choices"] and "tool_calls" in c["choices"][0]["delta"]
    ]
    assert calls[0]["id"] == "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q" and calls[0]["index"] == 0
    assert json.loads("".join(c["function"]["arguments"] for c in calls)) == {"sign": "WZPZ"}
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"
    assert chunks[-1]["usage"] == {
        "prompt_tokens": 375,
        "completion_tokens": 36,
        "total_tokens": 411,
    }


def test_frames_are_emitted_as_they_arrive() -> None:
    frames = load_json("bedrock", "converse_stream_events.json")
    decoder = BedrockAdapter().stream_decoder(TARGET, include_usage=False)
    assert len(decoder.feed(converse_stream_bytes(frames[:2]))) == 2


def test_every_byte_split_gives_the_same_chunks() -> None:
    assert_every_split_equal(
        lambda: BedrockAdapter().stream_decoder(TARGET, include_usage=True),
        _stream("converse_stream_events.json"),
    )


def test_corrupt_frame_is_rejected() -> None:
    data = bytearray(_stream("converse_stream_events.json"))
    data[30] ^= 0xFF
    with pytest.raises(UpstreamError, match="corrupt"):
        BedrockAdapter().stream_decoder(TARGET, include_usage=False).feed(bytes(data))


def test_stream_exception_is_retryable_throttle() -> None:
    decoder = BedrockAdapter().stream_decoder(TARGET, include_usage=False)
    with pytest.raises(UpstreamError) as info:
        run_stream(decoder, _stream("converse_stream_throttled.json"))
    assert info.value.retryable and info.value.status == 429


def test_http_errors() -> None:
    adapter = BedrockAdapter()
    throttled = adapter.error(
        TARGET,
        429,
        {"x-amzn-ErrorType": "ThrottlingException:http://x"},
        load_bytes("bedrock", "error_throttling.json"),
    )
    assert throttled.retryable and throttled.status == 429
    unavailable = adapter.error(
        TARGET, 503, {"x-amzn-ErrorType": "ServiceUnavailableException"}, b'{"message": "busy"}'
    )
    assert unavailable.retryable
    invalid = adapter.error(
        TARGET,
        400,
        {"x-amzn-ErrorType": "ValidationException"},
        load_bytes("bedrock", "error_validation.json"),
    )
    assert not invalid.retryable and invalid.status == 400
    leaked = adapter.error(TARGET, 400, {}, b'{"message": "key AKIDEXAMPLE is bad"}')
    assert "AKIDEXAMPLE" not in leaked.message


def test_titan_and_cohere_embeddings() -> None:
    adapter = BedrockAdapter()
    titan = Target(
        provider="bedrock",
        model="amazon.titan-embed-text-v2:0",
        base_url=TARGET.base_url,
        api_key=TARGET.api_key,
    )
    request = adapter.embeddings_request(titan, {"input": "hello", "dimensions": 256})
    assert request.url.endswith("/model/amazon.titan-embed-text-v2%3A0/invoke")
    assert json.loads(request.body) == {"inputText": "hello", "dimensions": 256}
    result = adapter.embeddings_response(
        titan, UpstreamResponse(200, {}, load_bytes("bedrock", "titan_embed_response.json"))
    )
    parsed = validate_openai("CreateEmbeddingResponse", result.body)
    assert parsed["data"][0]["embedding"] == [0.5, -0.25, 0.125]
    assert parsed["usage"]["prompt_tokens"] == 7
    with pytest.raises(BadRequestError):
        adapter.embeddings_request(titan, {"input": ["a", "b"]})
    cohere = Target(
        provider="bedrock",
        model="cohere.embed-english-v3",
        base_url=TARGET.base_url,
        api_key=TARGET.api_key,
    )
    request = adapter.embeddings_request(cohere, {"input": ["a", "b"]})
    assert json.loads(request.body)["texts"] == ["a", "b"]
    result = adapter.embeddings_response(
        cohere,
        UpstreamResponse(
            200,
            {"X-Amzn-Bedrock-Input-Token-Count": "2"},
            load_bytes("bedrock", "cohere_embed_response.json"),
        ),
    )
    parsed = validate_openai("CreateEmbeddingResponse", result.body)
    assert [d["embedding"] for d in parsed["data"]] == [[0.1, 0.2], [0.3, 0.4]]


async def test_boto3_parses_the_recorded_payloads_and_our_path_matches() -> None:
    boto3 = pytest.importorskip("boto3")
    decoded = "/model/" + MODEL
    routes = {
        ("POST", decoded + "/converse"): (
            200,
            "application/json",
            load_bytes("bedrock", "converse_response.json"),
        ),
        ("POST", decoded + "/converse-stream"): (
            200,
            "application/vnd.amazon.eventstream",
            _stream("converse_stream_events.json"),
        ),
    }
    async with fake_upstream(routes) as (url, seen):
        client = boto3.client(
            "bedrock-runtime",
            endpoint_url=url,
            region_name="us-west-2",
            aws_access_key_id="a",
            aws_secret_access_key="b",
        )
        messages: list[dict[str, Any]] = [{"role": "user", "content": [{"text": "hi"}]}]
        answer = await asyncio.to_thread(client.converse, modelId=MODEL, messages=messages)
        assert answer["output"]["message"]["content"][1]["toolUse"]["input"] == {"sign": "WZPZ"}
        assert answer["usage"]["cacheReadInputTokens"] == 100

        def read_stream() -> list[dict[str, Any]]:
            response = client.converse_stream(modelId=MODEL, messages=messages)
            return list(response["stream"])

        events = await asyncio.to_thread(read_stream)
        assert events[1]["contentBlockDelta"]["delta"]["text"] == "Let me check"
        assert events[-1]["metadata"]["usage"]["outputTokens"] == 36
        client.close()
        ours = BedrockAdapter().chat_request(
            TARGET, {"messages": [{"role": "user", "content": "hi"}]}, stream=False
        )
        assert ours.url.endswith(seen[0].raw_path)
