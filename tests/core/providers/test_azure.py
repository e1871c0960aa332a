from __future__ import annotations

import json

import pytest

from literllm.providers.azure import DEFAULT_API_VERSION, AzureAdapter, azure_url
from literllm.providers.base import Target
from literllm.transport.base import UpstreamResponse
from tests.core.providers.native_checks import (
    assert_every_split_equal,
    fake_upstream,
    load_bytes,
    run_stream,
    validate_openai,
)

RESOURCE = "https://contoso.openai.azure.com"
TARGET = Target(provider="azure", model="gpt-4o-prod", base_url=RESOURCE, api_key="azure-secret")


def test_versioned_deployment_urls() -> None:
    assert azure_url(RESOURCE, "gpt-4o-prod", "/chat/completions") == (
        f"{RESOURCE}/openai/deployments/gpt-4o-prod/chat/completions"
        f"?api-version={DEFAULT_API_VERSION}"
    )
    assert azure_url(RESOURCE + "/?api-version=2025-04-01-preview", "d", "/embeddings") == (
        f"{RESOURCE}/openai/deployments/d/embeddings?api-version=2025-04-01-preview"
    )
    assert azure_url(
        RESOURCE + "/openai/deployments/other?api-version=2024-06-01", "d", "/chat/completions"
    ) == (f"{RESOURCE}/openai/deployments/other/chat/completions?api-version=2024-06-01")


def test_v1_url_keeps_model_in_body() -> None:
    target = Target(
        provider="azure", model="gpt-4o-prod", base_url=RESOURCE + "/openai/v1/", api_key="k"
    )
    request = AzureAdapter().chat_request(
        target, {"model": "alias", "messages": [{"role": "user", "content": "hi"}]}, stream=True
    )
    assert request.url == f"{RESOURCE}/openai/v1/chat/completions"
    body = json.loads(request.body)
    assert body["model"] == "gpt-4o-prod"
    assert body["stream_options"] == {"include_usage": True}
    assert request.headers["api-key"] == "k"
    assert "authorization" not in request.headers


def test_response_passes_through_and_validates() -> None:
    body = load_bytes("azure", "chat_response.json")
    result = AzureAdapter().chat_response(TARGET, UpstreamResponse(200, {}, body))
    assert result.body == body
    validate_openai("CreateChatCompletionResponse", result.body)
    assert result.usage is not None and result.usage.total_tokens == 43
    assert result.finish_reasons == ["stop"]


def test_stream_drops_prompt_filter_chunk() -> None:
    decoder = AzureAdapter().stream_decoder(TARGET, include_usage=True)
    chunks = [json.loads(c) for c in run_stream(decoder, load_bytes("azure", "stream.sse"))]
    assert len(chunks) == 4
    assert all(c["id"] == "chatcmpl-AIpSTfoFn9j3ZN2s2vLjcY5SabDa6" for c in chunks)
    for c in chunks:
        validate_openai("CreateChatCompletionStreamResponse", c)
    assert decoder.response_id == "chatcmpl-AIpSTfoFn9j3ZN2s2vLjcY5SabDa6"
    assert decoder.model == "gpt-4o-2024-08-06"
    assert decoder.usage is not None and decoder.usage.completion_tokens == 2
    assert decoder.finish_reasons == ["stop"]
    quiet = AzureAdapter().stream_decoder(TARGET, include_usage=False)
    assert all(
        json.loads(c)["choices"] for c in run_stream(quiet, load_bytes("azure", "stream.sse"))
    )


def test_every_byte_split_gives_the_same_chunks() -> None:
    assert_every_split_equal(
        lambda: AzureAdapter().stream_decoder(TARGET, include_usage=True),
        load_bytes("azure", "stream.sse"),
    )


def test_errors() -> None:
    adapter = AzureAdapter()
    filtered = adapter.error(TARGET, 400, {}, load_bytes("azure", "error_content_filter.json"))
    assert filtered.status == 400 and filtered.code == "content_filter"
    assert not filtered.retryable
    limited = adapter.error(
        TARGET, 429, {"retry-after": "6"}, load_bytes("azure", "error_rate_limit.json")
    )
    assert limited.retryable and limited.retry_after == 6.0


def test_embeddings_url() -> None:
    request = AzureAdapter().embeddings_request(TARGET, {"input": "x", "model": "alias"})
    assert request.url.startswith(f"{RESOURCE}/openai/deployments/gpt-4o-prod/embeddings?")


async def test_official_azure_client_parses_the_recorded_payloads() -> None:
    openai = pytest.importorskip("openai")
    path = "/openai/deployments/gpt-4o-prod/chat/completions"
    routes = {("POST", path): (200, "application/json", load_bytes("azure", "chat_response.json"))}
    async with fake_upstream(routes) as (url, seen):
        client = openai.AsyncAzureOpenAI(
            azure_endpoint=url, api_key="k", max_retries=0, api_version=DEFAULT_API_VERSION
        )
        answer = await client.chat.completions.create(
            model="gpt-4o-prod", messages=[{"role": "user", "content": "hi"}]
        )
        assert answer.choices[0].message.content.startswith("Yes, customer managed keys")
        routes[("POST", path)] = (200, "text/event-stream", load_bytes("azure", "stream.sse"))
        text = ""
        async for part in await client.chat.completions.create(
            model="gpt-4o-prod", messages=[{"role": "user", "content": "hi"}], stream=True
        ):
            if part.choices:
                text += part.choices[0].delta.content or ""
        assert text == "Yes"
        await client.close()
        ours = AzureAdapter().chat_request(
            Target(provider="azure", model="gpt-4o-prod", base_url=url),
            {"messages": []},
            stream=False,
        )
        assert ours.url.endswith(str(seen[0].rel_url))
