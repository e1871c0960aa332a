"""Request-body schemas of `/openapi.json`: what the gateway itself checks.

Required fields, types and minimums follow the gateway's own validation (a body these
schemas accept is not refused for its shape); fields not listed are allowed and passed
to the provider, so new parameters keep working.
"""

from __future__ import annotations

from typing import Any

__all__ = ["REQUEST_SCHEMAS", "request"]


def request(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(kind: str, **more: Any) -> dict[str, Any]:
    return {"type": [kind, "null"], **more}


_CHAT_REQUEST: dict[str, Any] = {
    "type": "object",
    "description": "OpenAI's `CreateChatCompletionRequest` (fields not listed pass through).",
    "required": ["model", "messages"],
    "properties": {
        "model": {"type": "string", "minLength": 1},
        "messages": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["role"],
                "properties": {
                    "role": {
                        "type": "string",
                        "enum": ["developer", "system", "user", "assistant", "tool", "function"],
                    },
                    "content": {"type": ["string", "array", "null"]},
                },
                "additionalProperties": True,
            },
        },
        "stream": _nullable("boolean"),
        "stream_options": {
            "type": ["object", "null"],
            "properties": {"include_usage": _nullable("boolean")},
            "additionalProperties": True,
        },
        "max_tokens": _nullable("integer", minimum=1),
        "max_completion_tokens": _nullable("integer", minimum=1),
        "n": _nullable("integer", minimum=1),
        "temperature": _nullable("number"),
        "top_p": _nullable("number"),
        "tools": {"type": ["array", "null"], "items": {"type": "object"}},
    },
    "additionalProperties": True,
}

_EMBEDDING_REQUEST: dict[str, Any] = {
    "type": "object",
    "description": "OpenAI's `CreateEmbeddingRequest` (fields not listed pass through).",
    "required": ["model", "input"],
    "properties": {
        "model": {"type": "string", "minLength": 1},
        "input": {
            "anyOf": [
                {"type": "string", "minLength": 1},
                {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "anyOf": [
                            {"type": "string"},
                            {"type": "integer"},
                            {"type": "array", "items": {"type": "integer"}},
                        ]
                    },
                },
            ]
        },
        "dimensions": _nullable("integer"),
        "encoding_format": {"enum": ["float", "base64", None]},
    },
    "additionalProperties": True,
}

_FILE_REQUEST: dict[str, Any] = {
    "type": "object",
    "description": "OpenAI's `CreateFileRequest`.",
    "required": ["file", "purpose"],
    "properties": {
        "file": {"type": "string", "format": "binary"},
        "purpose": {
            "type": "string",
            "enum": ["assistants", "batch", "fine-tune", "vision", "user_data", "evals"],
        },
    },
}


_ANTHROPIC_MESSAGE: dict[str, Any] = {
    "type": "object",
    "required": ["role", "content"],
    "properties": {
        "role": {"type": "string", "enum": ["user", "assistant"]},
        "content": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "object"}}]},
    },
    "additionalProperties": True,
}

_MESSAGES_REQUEST: dict[str, Any] = {
    "type": "object",
    "description": "Anthropic's Messages API `CreateMessageParams` (fields not listed pass "
    "through).",
    "required": ["model", "max_tokens", "messages"],
    "properties": {
        "model": {"type": "string", "minLength": 1},
        "max_tokens": {"type": "integer", "minimum": 1},
        "messages": {"type": "array", "minItems": 1, "items": _ANTHROPIC_MESSAGE},
        "system": {"type": ["string", "array", "null"]},
        "stop_sequences": {"type": ["array", "null"], "items": {"type": "string"}},
        "stream": _nullable("boolean"),
        "temperature": _nullable("number"),
        "top_p": _nullable("number"),
        "top_k": _nullable("integer"),
        "tools": {"type": ["array", "null"], "items": {"type": "object"}},
        "tool_choice": {"type": ["object", "null"]},
        "metadata": {"type": ["object", "null"]},
    },
    "additionalProperties": True,
}

_COUNT_TOKENS_REQUEST: dict[str, Any] = {
    "type": "object",
    "description": "Anthropic's `CountMessageTokensParams` (fields not listed pass through).",
    "required": ["model", "messages"],
    "properties": {
        "model": {"type": "string", "minLength": 1},
        "messages": {"type": "array", "minItems": 1, "items": _ANTHROPIC_MESSAGE},
    },
    "additionalProperties": True,
}

_RESPONSES_REQUEST: dict[str, Any] = {
    "type": "object",
    "description": "OpenAI's `CreateResponse` (fields not listed pass through).",
    "required": ["model"],
    "properties": {
        "model": {"type": "string", "minLength": 1},
        "input": {"type": ["string", "array", "null"], "items": {"type": "object"}},
        "instructions": _nullable("string"),
        "tools": {"type": ["array", "null"], "items": {"type": "object"}},
        "max_output_tokens": _nullable("integer"),
        "temperature": _nullable("number"),
        "top_p": _nullable("number"),
        "store": _nullable("boolean"),
        "previous_response_id": _nullable("string"),
        "stream": _nullable("boolean"),
    },
    "additionalProperties": True,
}

REQUEST_SCHEMAS: dict[str, dict[str, Any]] = {
    "CreateChatCompletionRequest": _CHAT_REQUEST,
    "CreateEmbeddingRequest": _EMBEDDING_REQUEST,
    "CreateFileRequest": _FILE_REQUEST,
    "CreateMessageParams": _MESSAGES_REQUEST,
    "CountMessageTokensParams": _COUNT_TOKENS_REQUEST,
    "CreateResponse": _RESPONSES_REQUEST,
}
