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
