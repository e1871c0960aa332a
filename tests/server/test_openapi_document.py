"""`GET /openapi.json` documents every route the app serves."""

from __future__ import annotations

from literllm_server.openapi import openapi_document
from literllm_server.routes import ROUTES


def test_every_v1_and_operator_route_is_documented() -> None:
    paths = openapi_document()["paths"]
    served = {p for p in ROUTES if p.startswith(("/v1/", "/health", "/admin/", "/metrics"))}
    assert served <= set(paths)
    for path in served:
        assert {m.lower() for m in ROUTES[path]} <= set(paths[path]), path
    for dynamic in (
        "/v1/models/{model}",
        "/v1/files/{file_id}",
        "/v1/files/{file_id}/content",
        "/v1/responses/{response_id}",
        "/v1/responses/{response_id}/cancel",
        "/v1/responses/{response_id}/input_items",
        "/v1/batches/{batch_id}",
        "/v1/batches/{batch_id}/cancel",
    ):
        assert dynamic in paths


def test_error_schema_matches_the_openai_shape() -> None:
    error = openapi_document()["components"]["schemas"]["Error"]["properties"]["error"]
    assert error["required"] == ["message", "type", "param", "code"]


def test_request_bodies_declare_what_the_gateway_requires() -> None:
    document = openapi_document()
    schemas = document["components"]["schemas"]
    assert schemas["CreateChatCompletionRequest"]["required"] == ["model", "messages"]
    message = schemas["CreateChatCompletionRequest"]["properties"]["messages"]["items"]
    assert message["required"] == ["role"]
    assert schemas["CreateEmbeddingRequest"]["required"] == ["model", "input"]
    assert schemas["CreateFileRequest"]["required"] == ["file", "purpose"]
    assert schemas["CreateMessageParams"]["required"] == ["model", "max_tokens", "messages"]
    assert schemas["CountMessageTokensParams"]["required"] == ["model", "messages"]
    assert schemas["CreateResponse"]["required"] == ["model"]
    paths = document["paths"]
    for path, name in (
        ("/v1/chat/completions", "CreateChatCompletionRequest"),
        ("/v1/embeddings", "CreateEmbeddingRequest"),
        ("/v1/messages", "CreateMessageParams"),
        ("/v1/messages/count_tokens", "CountMessageTokensParams"),
        ("/v1/responses", "CreateResponse"),
    ):
        body = paths[path]["post"]["requestBody"]
        assert body["content"]["application/json"]["schema"] == {
            "$ref": f"#/components/schemas/{name}"
        }
    limit = next(p for p in paths["/v1/files"]["get"]["parameters"] if p["name"] == "limit")
    assert limit["schema"] == {"type": "integer", "minimum": 1, "maximum": 10000}
