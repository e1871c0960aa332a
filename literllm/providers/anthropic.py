"""Anthropic Messages API: OpenAI chat requests in, Messages responses back out.

Wire format: https://docs.anthropic.com/en/api/messages. The stream side lives in
`anthropic_stream`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from ..errors import BadRequestError, UpstreamError
from ..types import UpstreamRequest, UpstreamResponse
from .anthropic_stream import AnthropicStreamDecoder, anthropic_usage, finish_reason
from .base import ChatResult, Credential, EmbeddingResult, Target, static_credential
from .errormap import upstream_error
from .openai_shape import (
    content_parts,
    decode_json,
    image_url_of,
    parse_data_url,
    redact,
    reject_n,
    reject_params,
    single_choice_result,
    stop_list,
    text_of,
)

__all__ = [
    "ANTHROPIC_VERSION",
    "DEFAULT_MAX_TOKENS",
    "AnthropicAdapter",
    "anthropic_usage",
    "finish_reason",
]

ANTHROPIC_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 4096
"""`max_tokens` when neither the request nor the pricing data names one."""

_ERROR_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}
_UNSUPPORTED = ("logprobs", "top_logprobs", "audio", "prediction")
_encode = msgspec.json.Encoder().encode


def _block(part: Mapping[str, Any]) -> dict[str, Any]:
    kind = part.get("type")
    block: dict[str, Any]
    if kind == "text":
        block = {"type": "text", "text": part.get("text", "")}
    elif kind == "image_url":
        url = image_url_of(part)
        data_url = parse_data_url(url)
        if data_url is not None:
            block = {
                "type": "image",
                "source": {"type": "base64", "media_type": data_url[0], "data": data_url[1]},
            }
        else:
            block = {"type": "image", "source": {"type": "url", "url": url}}
    else:
        raise BadRequestError(
            f"provider 'anthropic' does not accept content parts of type {kind!r}", param="messages"
        )
    if "cache_control" in part:
        block["cache_control"] = part["cache_control"]
    return block


def _tool_use(call: Mapping[str, Any]) -> dict[str, Any]:
    function = call.get("function") or {}
    arguments = function.get("arguments") or "{}"
    try:
        tool_input = msgspec.json.decode(arguments) if isinstance(arguments, str) else arguments
    except msgspec.DecodeError:
        raise BadRequestError(
            "tool call arguments must be a JSON object", param="messages"
        ) from None
    return {
        "type": "tool_use",
        "id": call.get("id"),
        "name": function.get("name"),
        "input": tool_input,
    }


def _messages(messages: list[Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    system: list[dict[str, Any]] = []
    out: list[dict[str, Any]] = []
    for message in messages:
        role = message.get("role")
        blocks: list[dict[str, Any]]
        if role in ("system", "developer"):
            system.extend(_block(p) for p in content_parts(message.get("content")))
            continue
        if role == "user":
            blocks = [_block(p) for p in content_parts(message.get("content"))]
        elif role == "assistant":
            blocks = [
                _block(p)
                for p in content_parts(message.get("content"))
                if p.get("type") != "refusal"
            ]
            blocks.extend(_tool_use(c) for c in message.get("tool_calls") or ())
        elif role == "tool":
            role = "user"
            blocks = [
                {
                    "type": "tool_result",
                    "tool_use_id": message.get("tool_call_id"),
                    "content": text_of(message.get("content")),
                }
            ]
        else:
            raise BadRequestError(f"unknown message role {role!r}", param="messages")
        blocks = [b for b in blocks if b.get("type") != "text" or b["text"]]
        if not blocks:
            continue
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})
    return system, out


def _tool_choice(choice: Any, parallel: Any) -> dict[str, Any] | None:
    result: dict[str, Any] | None
    if choice is None:
        result = None if parallel is not False else {"type": "auto"}
    elif choice == "auto":
        result = {"type": "auto"}
    elif choice == "required":
        result = {"type": "any"}
    elif choice == "none":
        result = {"type": "none"}
    elif isinstance(choice, dict) and isinstance(choice.get("function"), dict):
        result = {"type": "tool", "name": choice["function"].get("name")}
    else:
        raise BadRequestError(
            "tool_choice must be 'auto', 'none', 'required' or a function", param="tool_choice"
        )
    if result is not None and parallel is False and result["type"] != "none":
        result["disable_parallel_tool_use"] = True
    return result


def build_messages_body(target: Target, body: dict[str, Any]) -> dict[str, Any]:
    reject_n(body, "anthropic")
    reject_params(body, "anthropic", _UNSUPPORTED)
    system, messages = _messages(list(body.get("messages") or ()))
    max_tokens = (
        body.get("max_completion_tokens")
        or body.get("max_tokens")
        or target.max_output_tokens
        or DEFAULT_MAX_TOKENS
    )
    native: dict[str, Any] = {"model": target.model, "max_tokens": max_tokens, "messages": messages}
    if system:
        native["system"] = system
    for name in ("temperature", "top_p", "top_k"):
        if body.get(name) is not None:
            native[name] = body[name]
    stops = stop_list(body.get("stop"))
    if stops:
        native["stop_sequences"] = stops
    tools = body.get("tools")
    if tools:
        native["tools"] = [
            {
                "name": t["function"]["name"],
                "description": t["function"].get("description", ""),
                "input_schema": t["function"].get("parameters") or {"type": "object"},
            }
            for t in tools
            if t.get("type") == "function"
        ]
    choice = _tool_choice(body.get("tool_choice"), body.get("parallel_tool_calls"))
    if choice is not None and tools:
        native["tool_choice"] = choice
    response_format = body.get("response_format")
    if isinstance(response_format, dict) and response_format.get("type") != "text":
        schema = (response_format.get("json_schema") or {}).get("schema")
        if response_format.get("type") != "json_schema" or not isinstance(schema, dict):
            raise BadRequestError(
                "provider 'anthropic' supports response_format "
                "json_schema (with a schema) only, not JSON mode",
                param="response_format",
            )
        native["output_config"] = {"format": {"type": "json_schema", "schema": schema}}
    user = body.get("user")
    if isinstance(user, str) and user:
        native["metadata"] = {"user_id": user}
    return native


class AnthropicAdapter:
    name = "anthropic"
    base64_embeddings = False
    default_base_url: str | None = "https://api.anthropic.com/v1"
    env_var: str | None = "ANTHROPIC_API_KEY"

    def credential(self, api_key: str | None) -> Credential:
        return static_credential(api_key)

    def headers(self, target: Target) -> dict[str, str]:
        headers = {"content-type": "application/json", "anthropic-version": ANTHROPIC_VERSION}
        if target.api_key:
            headers["x-api-key"] = target.api_key
        return headers

    def chat_request(
        self, target: Target, body: dict[str, Any], *, stream: bool
    ) -> UpstreamRequest:
        native = build_messages_body(target, body)
        if stream:
            native["stream"] = True
        return UpstreamRequest(
            "POST", target.base_url.rstrip("/") + "/messages", self.headers(target), _encode(native)
        )

    def chat_response(self, target: Target, response: UpstreamResponse) -> ChatResult:
        raw = decode_json(target, response.body)
        if not isinstance(raw, dict) or raw.get("type") == "error":
            raise self.error(target, response.status, response.headers, response.body)
        text: list[str] = []
        tool_calls: list[dict[str, Any]] = []
        for block in raw.get("content") or ():
            if block.get("type") == "text":
                text.append(block.get("text", ""))
            elif block.get("type") == "tool_use":
                tool_calls.append(
                    {
                        "id": block.get("id"),
                        "type": "function",
                        "function": {
                            "name": block.get("name"),
                            "arguments": _encode(block.get("input") or {}).decode(),
                        },
                    }
                )
        message: dict[str, Any] = {
            "role": "assistant",
            "content": "".join(text) if text else None,
            "refusal": None,
        }
        if tool_calls:
            message["tool_calls"] = tool_calls
        finish = finish_reason(raw.get("stop_reason"))
        usage = anthropic_usage(raw.get("usage") or {})
        response_id = raw.get("id") or ""
        model = raw.get("model") or target.model
        return single_choice_result(
            response_id=response_id, model=model, message=message, finish=finish, usage=usage
        )

    def stream_decoder(self, target: Target, *, include_usage: bool) -> AnthropicStreamDecoder:
        return AnthropicStreamDecoder(target, include_usage=include_usage, adapter=self)

    def embeddings_request(self, target: Target, body: dict[str, Any]) -> UpstreamRequest:
        raise BadRequestError(
            "provider 'anthropic' has no embeddings API; route embeddings "
            "to a provider that offers them",
            param="model",
            code="embeddings_not_supported",
        )

    def embeddings_response(self, target: Target, response: UpstreamResponse) -> EmbeddingResult:
        raise BadRequestError("provider 'anthropic' has no embeddings API", param="model")

    def error(
        self, target: Target, status: int, headers: Mapping[str, str], body: bytes
    ) -> UpstreamError:
        message: str | None = None
        error_type: str | None = None
        try:
            raw = msgspec.json.decode(body)
        except msgspec.DecodeError:
            raw = None
        if isinstance(raw, dict) and isinstance(raw.get("error"), dict):
            message = raw["error"].get("message")
            error_type = raw["error"].get("type")
        elif body:
            message = body[:200].decode("utf-8", "replace").strip() or None
        if status < 400 and error_type in _ERROR_STATUS:
            # an error inside a 200 stream or body: its type says what the status would be
            status = _ERROR_STATUS[error_type]
        retryable = True if error_type == "overloaded_error" else None
        return upstream_error(
            target.provider,
            status,
            redact(message, target.api_key),
            headers,
            retryable=retryable,
            code=error_type,
        )
