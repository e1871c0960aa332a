from __future__ import annotations

import json

from literllm.providers.base import Target
from literllm.providers.vertex import VertexAdapter, resolve_base_url, vertex_base_url
from literllm.transport.base import UpstreamResponse
from tests.core.providers.native_checks import load_bytes, run_stream, validate_openai

BASE = "https://europe-west4-aiplatform.googleapis.com/v1/projects/acme/locations/europe-west4"
TARGET = Target(
    provider="vertex_ai", model="gemini-2.0-flash", base_url=BASE, api_key="ya29.access-token"
)


def test_base_url_from_environment() -> None:
    assert (
        resolve_base_url({"VERTEXAI_PROJECT": "acme", "VERTEXAI_LOCATION": "europe-west4"}) == BASE
    )
    assert resolve_base_url({"GOOGLE_CLOUD_PROJECT": "acme"}) == (
        "https://us-central1-aiplatform.googleapis.com/v1/projects/acme/locations/us-central1"
    )
    assert resolve_base_url({}) is None
    assert vertex_base_url("acme", "global") == (
        "https://aiplatform.googleapis.com/v1/projects/acme/locations/global"
    )


def test_chat_request_uses_publisher_path_and_bearer_token() -> None:
    body = {"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "hi"}]}
    request = VertexAdapter().chat_request(TARGET, body, stream=True)
    assert request.url == (
        f"{BASE}/publishers/google/models/gemini-2.0-flash:streamGenerateContent?alt=sse"
    )
    assert request.headers["authorization"] == "Bearer ya29.access-token"
    assert "x-goog-api-key" not in request.headers
    sent = json.loads(request.body)
    assert sent == {
        "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
        "systemInstruction": {"parts": [{"text": "s"}]},
    }


def test_same_response_and_stream_format_as_gemini() -> None:
    result = VertexAdapter().chat_response(
        TARGET, UpstreamResponse(200, {}, load_bytes("gemini", "generate_content_response.json"))
    )
    validate_openai("CreateChatCompletionResponse", result.body)
    decoder = VertexAdapter().stream_decoder(TARGET, include_usage=True)
    chunks = run_stream(decoder, load_bytes("gemini", "stream_text.sse"))
    assert json.loads(chunks[-1])["usage"]["total_tokens"] == 11


def test_predict_embeddings() -> None:
    target = Target(provider="vertex_ai", model="text-embedding-005", base_url=BASE, api_key="t")
    request = VertexAdapter().embeddings_request(target, {"input": ["a", "b"], "dimensions": 3})
    assert request.url == f"{BASE}/publishers/google/models/text-embedding-005:predict"
    assert json.loads(request.body) == {
        "instances": [{"content": "a"}, {"content": "b"}],
        "parameters": {"outputDimensionality": 3},
    }
    result = VertexAdapter().embeddings_response(
        target, UpstreamResponse(200, {}, load_bytes("vertex", "predict_embeddings_response.json"))
    )
    parsed = validate_openai("CreateEmbeddingResponse", result.body)
    assert parsed["data"][1]["embedding"] == [0.1, 0.2, 0.3]
    assert parsed["usage"] == {"prompt_tokens": 10, "total_tokens": 10}


def test_errors_redact_the_token() -> None:
    error = VertexAdapter().error(
        TARGET,
        401,
        {},
        b'{"error": {"code": 401, "message": '
        b'"bad token ya29.access-token", "status": "UNAUTHENTICATED"}}',
    )
    assert "ya29" not in error.message and error.status == 502
