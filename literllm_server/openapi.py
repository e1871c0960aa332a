"""The OpenAPI document of the gateway's own HTTP API (served at `GET /openapi.json`).

Request and response bodies of the `/v1` endpoints are OpenAI's; their schemas are
named after the matching schemas of OpenAI's published OpenAPI description. Request
schemas declare what the gateway itself checks (required fields, types, minimums), so
schema-driven tools send valid and invalid requests on purpose; every other field is
allowed and passed to the provider.
"""

from __future__ import annotations

from typing import Any

import msgspec

import literllm
from literllm import RequestList, TrafficReport

from .openapi_requests import REQUEST_SCHEMAS, request

__all__ = ["openapi_document"]

_ERROR = {"$ref": "#/components/schemas/Error"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, Any]:
    meaning = {
        400: "Invalid request",
        401: "Missing or invalid API key",
        402: "A spend cap would be crossed",
        403: "The key may not use this model",
        404: "Unknown model or resource",
        413: "Body over body_limit_bytes",
        415: "Body is not JSON",
        429: "Rate limited; see retry-after",
        502: "Upstream failure",
        503: "Every route is cooling down or unhealthy",
        504: "Upstream or request timeout",
    }
    return {str(s): _json(_ERROR, meaning[s]) for s in statuses}


def _openai(name: str) -> dict[str, Any]:
    return {
        "type": "object",
        "description": f"OpenAI's `{name}` schema.",
        "additionalProperties": True,
    }


def _post_json(
    summary: str, operation_id: str, request: dict[str, Any], response: dict[str, Any]
) -> dict[str, Any]:
    return {
        "post": {
            "summary": summary,
            "operationId": operation_id,
            "security": [{"bearer": []}],
            "requestBody": {"required": True, "content": {"application/json": {"schema": request}}},
            "responses": {"200": _json(response, summary), **_errors(*_V1_ERRORS)},
        }
    }


def _post_form(
    summary: str, operation_id: str, request: str, content: dict[str, Any]
) -> dict[str, Any]:
    return {
        "post": {
            "summary": summary,
            "operationId": operation_id,
            "security": [{"bearer": []}],
            "requestBody": {
                "required": True,
                "content": {"multipart/form-data": {"schema": _openai(request)}},
            },
            "responses": {
                "200": {"description": summary, "content": content},
                **_errors(*_V1_ERRORS),
            },
        }
    }


_TRANSCRIPT_CONTENT = {
    "application/json": {"schema": _openai("CreateTranscriptionResponseJson")},
    "text/plain": {"schema": {"type": "string"}},
    "text/vtt": {"schema": {"type": "string"}},
}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


_RERANK_REQUEST = {
    "type": "object",
    "required": ["model", "query", "documents"],
    "properties": {
        "model": {"type": "string"},
        "query": {"type": "string"},
        "documents": {
            "type": "array",
            "items": {
                "oneOf": [
                    {"type": "string"},
                    {"type": "object", "properties": {"text": {"type": "string"}}},
                ]
            },
        },
        "top_n": {"type": "integer", "minimum": 1},
        "return_documents": {"type": "boolean"},
    },
}
_RERANK_RESPONSE = {
    "type": "object",
    "required": ["results"],
    "properties": {
        "id": {"type": "string"},
        "model": {"type": "string"},
        "results": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["index", "relevance_score"],
                "properties": {
                    "index": {"type": "integer"},
                    "relevance_score": {"type": "number"},
                    "document": {"type": "object", "properties": {"text": {"type": "string"}}},
                },
            },
        },
        "usage": {"type": "object", "additionalProperties": True},
    },
}

_STRINGS = {"type": "array", "items": {"type": "string"}}
_SEARCH_REQUEST = {
    "type": "object",
    "required": ["model", "query"],
    "additionalProperties": False,
    "properties": {
        "model": {"type": "string"},
        "query": {"type": "string"},
        "max_results": {"type": "integer", "minimum": 1, "maximum": 100},
        "search_domain_filter": _STRINGS,
        "country": {"type": "string"},
    },
}
_SEARCH_RESPONSE = {
    "type": "object",
    "required": ["results", "model"],
    "properties": {
        "model": {"type": "string"},
        "results": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["title", "url", "snippet"],
                "properties": {
                    "title": {"type": "string"},
                    "url": {"type": "string"},
                    "snippet": {"type": "string"},
                    "date": {"type": "string"},
                },
            },
        },
    },
}
_OCR_REQUEST = {
    "type": "object",
    "required": ["model", "document"],
    "additionalProperties": False,
    "properties": {
        "model": {"type": "string"},
        "document": {
            "oneOf": [
                {
                    "type": "object",
                    "required": ["type", "url"],
                    "properties": {"type": {"const": "document_url"}, "url": {"type": "string"}},
                },
                {
                    "type": "object",
                    "required": ["type", "data", "media_type"],
                    "properties": {
                        "type": {"const": "base64"},
                        "data": {"type": "string"},
                        "media_type": {"type": "string"},
                    },
                },
            ]
        },
        "pages": {"type": "array", "items": {"type": "integer", "minimum": 1}},
        "include_image_base64": {"type": "boolean"},
    },
}
_OCR_RESPONSE = {
    "type": "object",
    "required": ["pages", "model"],
    "properties": {
        "model": {"type": "string"},
        "pages": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["index", "markdown"],
                "properties": {
                    "index": {"type": "integer"},
                    "markdown": {"type": "string"},
                    "images": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["id"],
                            "properties": {
                                "id": {"type": "string"},
                                "image_base64": {"type": "string"},
                            },
                        },
                    },
                    "dimensions": {
                        "type": "object",
                        "required": ["width", "height"],
                        "properties": {
                            "width": {"type": "integer"},
                            "height": {"type": "integer"},
                        },
                    },
                },
            },
        },
        "usage": {"type": "object", "additionalProperties": True},
    },
}

_BATCH_ID = {"name": "batch_id", "in": "path", "required": True, "schema": {"type": "string"}}


def _query(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema}


_FILE_ID = {"name": "file_id", "in": "path", "required": True, "schema": {"type": "string"}}
_V1_ERRORS = (400, 401, 402, 403, 404, 413, 415, 429, 502, 503, 504)


_RESPONSE_ID = {"name": "response_id", "in": "path", "required": True, "schema": {"type": "string"}}
_ANTHROPIC_ERROR = {"$ref": "#/components/schemas/AnthropicError"}
_ANTHROPIC_STATUSES = {
    400: "Invalid request, or a field the routed provider cannot honour",
    401: "Missing or invalid API key",
    402: "A spend cap would be crossed (billing_error)",
    403: "The key may not use this model",
    404: "Unknown model",
    413: "Body over body_limit_bytes",
    429: "Rate limited; see retry-after",
    500: "Upstream failure (api_error)",
    504: "Upstream or request timeout",
    529: "Every route is cooling down, or the upstream is overloaded",
}


def _anthropic(name: str) -> dict[str, Any]:
    return {
        "type": "object",
        "description": f"Anthropic's Messages API `{name}`.",
        "additionalProperties": True,
    }


def _protocol_paths() -> dict[str, Any]:
    """Anthropic Messages (errors in Anthropic's shape) and OpenAI Responses."""
    anthropic_errors = {
        str(status): _json(_ANTHROPIC_ERROR, meaning)
        for status, meaning in _ANTHROPIC_STATUSES.items()
    }
    security: list[dict[str, list[str]]] = [{"bearer": []}, {"x-api-key": []}]
    return {
        "/v1/messages": {
            "post": {
                "summary": "Create a message (Anthropic Messages; JSON, or server-sent "
                "events with stream: true). Native to Anthropic deployments, translated "
                "for others; see docs/protocols.md",
                "operationId": "createMessage",
                "security": security,
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": request("CreateMessageParams")}},
                },
                "responses": {
                    "200": {
                        "description": "A message, or Anthropic's stream of events",
                        "content": {
                            "application/json": {"schema": _anthropic("Message")},
                            "text/event-stream": {"schema": _anthropic("MessageStreamEvent")},
                        },
                    },
                    **anthropic_errors,
                },
            }
        },
        "/v1/responses": {
            "post": {
                "summary": "Create a response (OpenAI Responses; JSON, or server-sent "
                "events with stream: true), for any provider; see docs/protocols.md",
                "operationId": "createResponse",
                "security": [{"bearer": []}],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": request("CreateResponse")}},
                },
                "responses": {
                    "200": {
                        "description": "A Response, or its stream of events",
                        "content": {
                            "application/json": {"schema": _openai("Response")},
                            "text/event-stream": {"schema": _openai("ResponseStreamEvent")},
                        },
                    },
                    **_errors(*_V1_ERRORS),
                },
            }
        },
        "/v1/responses/{response_id}": {
            "get": {
                "summary": "A stored response (the calling key's own)",
                "operationId": "getResponse",
                "security": [{"bearer": []}],
                "parameters": [_RESPONSE_ID],
                "responses": {
                    "200": _json(_openai("Response"), "The response"),
                    **_errors(401, 404),
                },
            },
            "delete": {
                "summary": "Delete a stored response",
                "operationId": "deleteResponse",
                "security": [{"bearer": []}],
                "parameters": [_RESPONSE_ID],
                "responses": {
                    "200": _json(_openai("DeletedResponse"), "Deleted"),
                    **_errors(401, 404),
                },
            },
        },
        "/v1/responses/{response_id}/cancel": {
            "post": {
                "summary": "Cancel a background response (the gateway runs none: 400)",
                "operationId": "cancelResponse",
                "security": [{"bearer": []}],
                "parameters": [_RESPONSE_ID],
                "responses": {
                    "200": _json(_openai("Response"), "The response"),
                    **_errors(400, 401, 404),
                },
            }
        },
        "/v1/responses/{response_id}/input_items": {
            "get": {
                "summary": "The input items of a stored response, newest first by default",
                "operationId": "listInputItems",
                "security": [{"bearer": []}],
                "parameters": [
                    _RESPONSE_ID,
                    *(
                        {"name": n, "in": "query", "required": False, "schema": {"type": "string"}}
                        for n in ("limit", "order", "after")
                    ),
                ],
                "responses": {
                    "200": _json(_openai("ResponseItemList"), "Items"),
                    **_errors(400, 401, 404),
                },
            }
        },
        "/v1/messages/count_tokens": {
            "post": {
                "summary": "Count a message's input tokens (Anthropic's count for "
                "Anthropic deployments, else an estimate)",
                "operationId": "countMessageTokens",
                "security": security,
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": request("CountMessageTokensParams")}
                    },
                },
                "responses": {
                    "200": _json(_anthropic("MessageTokensCount"), "The count"),
                    **anthropic_errors,
                },
            }
        },
    }


def _admin_schemas() -> dict[str, Any]:
    """The dashboard's answers, from the structs the admin API returns."""
    _, components = msgspec.json.schema_components(
        [TrafficReport, RequestList], ref_template="#/components/schemas/{name}"
    )
    return components


def _text_query(name: str, description: str) -> dict[str, Any]:
    """An optional string query parameter of the admin API."""
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": {"type": "string"},
        "description": description,
    }


_KEY_ID = {
    "name": "key_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "The key's id (k- and 16 hex digits)",
}


def _key_paths(plain: dict[str, Any]) -> dict[str, Any]:
    """`/admin/keys`: the keys of the config file (read-only) and runtime keys."""

    def operation(
        summary: str, status: str, errors: tuple[int, ...], *, body: bool = False, key_id: bool
    ) -> dict[str, Any]:
        spec: dict[str, Any] = {
            "summary": summary + " (master key)",
            "security": [{"bearer": []}],
            "responses": {status: _json(plain, summary), **_errors(*errors)},
        }
        if key_id:
            spec["parameters"] = [_KEY_ID]
        if body:
            spec["requestBody"] = {
                "required": False,
                "content": {"application/json": {"schema": plain}},
            }
        return spec

    return {
        "/admin/keys": {
            "get": operation(
                "Every key: limits, usage, spend; never a secret", "200", (401, 403), key_id=False
            ),
            "post": operation(
                "Create a key; the answer holds its secret, told only this once",
                "201",
                (400, 401, 403, 413, 415),
                body=True,
                key_id=False,
            ),
        },
        "/admin/keys/{key_id}": {
            "get": operation("One key", "200", (401, 403, 404), key_id=True),
            "patch": operation(
                "Change models, rpm, tpm, budget_limit, description or blocked",
                "200",
                (400, 401, 403, 404),
                body=True,
                key_id=True,
            ),
            "delete": operation(
                "Revoke a runtime key at once", "200", (401, 403, 404), key_id=True
            ),
        },
        "/admin/keys/{key_id}/rotate": {
            "post": operation(
                "A new secret; the old one works for grace_period_secs more",
                "200",
                (400, 401, 403, 404),
                body=True,
                key_id=True,
            ),
        },
    }


def openapi_document() -> dict[str, Any]:
    chat = {
        "post": {
            "summary": "Create a chat completion (JSON, or server-sent events with stream: true)",
            "operationId": "createChatCompletion",
            "security": [{"bearer": []}],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": request("CreateChatCompletionRequest")}},
            },
            "responses": {
                "200": {
                    "description": "A completion, or an SSE stream of chunks "
                    "ending with `data: [DONE]`",
                    "content": {
                        "application/json": {"schema": _openai("CreateChatCompletionResponse")},
                        "text/event-stream": {
                            "schema": _openai("CreateChatCompletionStreamResponse")
                        },
                    },
                },
                **_errors(*_V1_ERRORS),
            },
        }
    }
    embeddings = {
        "post": {
            "summary": "Create embeddings",
            "operationId": "createEmbedding",
            "security": [{"bearer": []}],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": request("CreateEmbeddingRequest")}},
            },
            "responses": {
                "200": _json(_openai("CreateEmbeddingResponse"), "Embeddings"),
                **_errors(*_V1_ERRORS),
            },
        }
    }
    models = {
        "get": {
            "summary": "Models the calling key may use",
            "operationId": "listModels",
            "security": [{"bearer": []}],
            "responses": {"200": _json(_openai("ListModelsResponse"), "Models"), **_errors(401)},
        }
    }
    model = {
        "get": {
            "summary": "One model",
            "operationId": "retrieveModel",
            "security": [{"bearer": []}],
            "parameters": [
                {"name": "model", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "responses": {"200": _json(_openai("Model"), "The model"), **_errors(401, 404)},
        }
    }
    plain = {"type": "object", "additionalProperties": True}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "liter-llm gateway",
            "version": literllm.__version__,
            "description": "An OpenAI-compatible LLM gateway. Point the official OpenAI "
            "SDK's base_url at /v1.",
        },
        "paths": {
            "/v1/chat/completions": chat,
            "/v1/embeddings": embeddings,
            "/v1/completions": {
                "post": {
                    "summary": "Create a text completion (legacy; JSON, or server-sent events "
                    "with stream: true); chat-only providers serve it through chat",
                    "operationId": "createCompletion",
                    "security": [{"bearer": []}],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": _openai("CreateCompletionRequest")}
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "A completion, or an SSE stream of completion "
                            "objects ending with `data: [DONE]`",
                            "content": {
                                "application/json": {"schema": _openai("CreateCompletionResponse")},
                                "text/event-stream": {
                                    "schema": _openai("CreateCompletionResponse")
                                },
                            },
                        },
                        **_errors(*_V1_ERRORS),
                    },
                }
            },
            "/v1/moderations": _post_json(
                "Classify text (and images) as potentially harmful",
                "createModeration",
                _openai("CreateModerationRequest"),
                _openai("CreateModerationResponse"),
            ),
            "/v1/images/generations": _post_json(
                "Create images from a prompt (b64_json or url)",
                "createImage",
                _openai("CreateImageRequest"),
                _openai("ImagesResponse"),
            ),
            "/v1/images/edits": _post_form(
                "Edit an image (multipart: image, prompt, model)",
                "createImageEdit",
                "CreateImageEditRequest",
                {"application/json": {"schema": _openai("ImagesResponse")}},
            ),
            "/v1/images/variations": _post_form(
                "Create variations of an image (multipart: image, model)",
                "createImageVariation",
                "CreateImageVariationRequest",
                {"application/json": {"schema": _openai("ImagesResponse")}},
            ),
            "/v1/audio/speech": {
                "post": {
                    "summary": "Text to speech: the audio streams as it is produced",
                    "operationId": "createSpeech",
                    "security": [{"bearer": []}],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _openai("CreateSpeechRequest")}},
                    },
                    "responses": {
                        "200": {
                            "description": "Audio in the asked response_format",
                            "content": {
                                kind: {"schema": {"type": "string", "format": "binary"}}
                                for kind in (
                                    "audio/mpeg",
                                    "audio/ogg",
                                    "audio/aac",
                                    "audio/flac",
                                    "audio/wav",
                                    "audio/pcm",
                                )
                            },
                        },
                        **_errors(*_V1_ERRORS),
                    },
                }
            },
            "/v1/audio/transcriptions": _post_form(
                "Transcribe audio (multipart: file, model; json, text, srt, vtt, verbose_json)",
                "createTranscription",
                "CreateTranscriptionRequest",
                _TRANSCRIPT_CONTENT,
            ),
            "/v1/audio/translations": _post_form(
                "Translate audio into English (multipart: file, model)",
                "createTranslation",
                "CreateTranslationRequest",
                _TRANSCRIPT_CONTENT,
            ),
            "/v1/search": _post_json(
                "Web search (the Rust liter-llm's shape)",
                "search",
                _ref("SearchRequest"),
                _ref("SearchResponse"),
            ),
            "/v1/ocr": _post_json(
                "Document OCR to Markdown (the Rust liter-llm's shape)",
                "ocr",
                _ref("OcrRequest"),
                _ref("OcrResponse"),
            ),
            "/v1/rerank": _post_json(
                "Rerank documents by relevance to a query (Cohere/Jina shape)",
                "rerank",
                _ref("RerankRequest"),
                _ref("RerankResponse"),
            ),
            "/v1/models": models,
            "/v1/models/{model}": model,
            **_protocol_paths(),
            "/v1/files": {
                "get": {
                    "summary": "Files the calling key owns (all, for the master key)",
                    "operationId": "listFiles",
                    "security": [{"bearer": []}],
                    "parameters": [
                        _query("purpose", {"type": "string"}),
                        _query("limit", {"type": "integer", "minimum": 1, "maximum": 10000}),
                        _query("after", {"type": "string"}),
                        _query("order", {"type": "string", "enum": ["asc", "desc"]}),
                    ],
                    "responses": {
                        "200": _json(_openai("ListFilesResponse"), "Files"),
                        **_errors(400, 401),
                    },
                },
                "post": {
                    "summary": "Upload a file (multipart: file, purpose)",
                    "operationId": "createFile",
                    "security": [{"bearer": []}],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "multipart/form-data": {"schema": request("CreateFileRequest")}
                        },
                    },
                    "responses": {
                        "200": _json(_openai("OpenAIFile"), "The file"),
                        **_errors(400, 401, 413, 415),
                    },
                },
            },
            "/v1/files/{file_id}": {
                "get": {
                    "summary": "One file",
                    "operationId": "retrieveFile",
                    "security": [{"bearer": []}],
                    "parameters": [_FILE_ID],
                    "responses": {
                        "200": _json(_openai("OpenAIFile"), "The file"),
                        **_errors(401, 404),
                    },
                },
                "delete": {
                    "summary": "Delete a file",
                    "operationId": "deleteFile",
                    "security": [{"bearer": []}],
                    "parameters": [_FILE_ID],
                    "responses": {
                        "200": _json(_openai("DeleteFileResponse"), "Deleted"),
                        **_errors(401, 404),
                    },
                },
            },
            "/v1/files/{file_id}/content": {
                "get": {
                    "summary": "A file's bytes",
                    "operationId": "downloadFile",
                    "security": [{"bearer": []}],
                    "parameters": [_FILE_ID],
                    "responses": {
                        "200": {
                            "description": "The content",
                            "content": {
                                "application/octet-stream": {
                                    "schema": {"type": "string", "format": "binary"}
                                }
                            },
                        },
                        **_errors(401, 404),
                    },
                },
            },
            "/v1/batches": {
                "get": {
                    "summary": "Batches the calling key created (all, for the master key)",
                    "operationId": "listBatches",
                    "security": [{"bearer": []}],
                    "parameters": [
                        {"name": n, "in": "query", "required": False, "schema": {"type": "string"}}
                        for n in ("after", "limit")
                    ],
                    "responses": {
                        "200": _json(_openai("ListBatchesResponse"), "Batches"),
                        **_errors(400, 401),
                    },
                },
                "post": {
                    "summary": "Create a batch over a JSONL file uploaded with purpose=batch; "
                    "the gateway runs its lines itself, for any provider",
                    "operationId": "createBatch",
                    "security": [{"bearer": []}],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _openai("CreateBatchRequest")}},
                    },
                    "responses": {
                        "200": _json(_openai("Batch"), "The batch"),
                        **_errors(400, 401, 404, 413, 415),
                    },
                },
            },
            "/v1/batches/{batch_id}": {
                "get": {
                    "summary": "One batch, with its request counts so far",
                    "operationId": "retrieveBatch",
                    "security": [{"bearer": []}],
                    "parameters": [_BATCH_ID],
                    "responses": {"200": _json(_openai("Batch"), "The batch"), **_errors(401, 404)},
                }
            },
            "/v1/batches/{batch_id}/cancel": {
                "post": {
                    "summary": "Cancel a batch: lines not started go to the error file",
                    "operationId": "cancelBatch",
                    "security": [{"bearer": []}],
                    "parameters": [_BATCH_ID],
                    "responses": {
                        "200": _json(_openai("Batch"), "The batch, cancelling"),
                        **_errors(400, 401, 404),
                    },
                }
            },
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics (master key)",
                    "security": [{"bearer": []}],
                    "responses": {"200": {"description": "Prometheus text"}, **_errors(401, 403)},
                }
            },
            **{
                f"/admin/{name}": {
                    "get": {
                        "summary": summary + " (master key, read-only)",
                        "security": [{"bearer": []}],
                        "responses": {"200": _json(plain, summary), **_errors(401, 403)},
                    }
                }
                for name, summary in (
                    ("models", "Pools and deployments with their state"),
                    ("config", "The effective config, secrets redacted"),
                )
            },
            **_key_paths(plain),
            "/admin/traffic": {
                "get": {
                    "summary": "Requests, errors, p50/p99 latency, tokens and spend over "
                    "the last hour or day, in buckets (master key)",
                    "security": [{"bearer": []}],
                    "parameters": [
                        _text_query(
                            "window",
                            "1h (default: 60 buckets of 60 s) or 24h (96 buckets of 900 s)",
                        ),
                    ],
                    "responses": {
                        "200": _json(_ref("TrafficReport"), "The series, oldest bucket first"),
                        **_errors(400, 401, 403),
                    },
                }
            },
            "/admin/requests": {
                "get": {
                    "summary": "The most recent requests, newest first, without bodies or "
                    "secrets (master key)",
                    "security": [{"bearer": []}],
                    "parameters": [
                        _text_query("limit", "entries, 1 to 1000 (default 100)"),
                        _text_query("status", "ok (status < 400) or error (status >= 400)"),
                        _text_query("model", "only this model (as the client named it)"),
                        _text_query("key", "only this key id (k-...)"),
                    ],
                    "responses": {
                        "200": _json(_ref("RequestList"), "Recent requests"),
                        **_errors(400, 401, 403),
                    },
                }
            },
            "/admin/audit": {
                "get": {
                    "summary": "The audit trail of admin changes, newest first (master key)",
                    "security": [{"bearer": []}],
                    "parameters": [
                        _text_query("limit", "entries, 1 to 1000 (default 100)"),
                        _text_query("action", "only this action, e.g. key.create"),
                        _text_query("target", "only this target, e.g. a key id"),
                    ],
                    "responses": {"200": _json(plain, "Audit entries"), **_errors(400, 401, 403)},
                }
            },
            "/admin/spend": {
                "get": {
                    "summary": "Spend: global, per model, per key; or grouped (master key)",
                    "security": [{"bearer": []}],
                    "parameters": [
                        _text_query(
                            "group_by", "key, team, model or end_user, and/or period (UTC days)"
                        ),
                        _text_query("start", "first UTC day, YYYY-MM-DD"),
                        _text_query("end", "last UTC day, YYYY-MM-DD"),
                        _text_query("key", "only this key's rows (key, end_user)"),
                        _text_query("format", "csv for CSV (or send Accept: text/csv)"),
                    ],
                    "responses": {
                        "200": {
                            "description": "The report",
                            "content": {
                                "application/json": {"schema": plain},
                                "text/csv": {"schema": {"type": "string"}},
                            },
                        },
                        **_errors(400, 401, 403),
                    },
                }
            },
            "/health": {
                "get": {
                    "summary": "Status and per-deployment state",
                    "responses": {"200": _json(plain, "Health")},
                }
            },
            "/health/liveness": {
                "get": {"summary": "The process is up", "responses": {"200": _json(plain, "Alive")}}
            },
            "/health/readiness": {
                "get": {
                    "summary": "Ready to serve (503 with a reason if not)",
                    "responses": {"200": _json(plain, "Ready"), "503": _json(plain, "Not ready")},
                }
            },
        },
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "x-api-key": {"type": "apiKey", "in": "header", "name": "x-api-key"},
            },
            "schemas": {
                "AnthropicError": {
                    "type": "object",
                    "required": ["type", "error"],
                    "properties": {
                        "type": {"const": "error"},
                        "error": {
                            "type": "object",
                            "required": ["type", "message"],
                            "properties": {
                                "type": {"type": "string"},
                                "message": {"type": "string"},
                            },
                        },
                    },
                },
                "RerankRequest": _RERANK_REQUEST,
                "RerankResponse": _RERANK_RESPONSE,
                "SearchRequest": _SEARCH_REQUEST,
                "SearchResponse": _SEARCH_RESPONSE,
                "OcrRequest": _OCR_REQUEST,
                "OcrResponse": _OCR_RESPONSE,
                **REQUEST_SCHEMAS,
                **_admin_schemas(),
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {
                            "type": "object",
                            "required": ["message", "type", "param", "code"],
                            "properties": {
                                "message": {"type": "string"},
                                "type": {"type": "string"},
                                "param": {"type": ["string", "null"]},
                                "code": {"type": ["string", "null"]},
                            },
                        }
                    },
                },
            },
        },
    }
