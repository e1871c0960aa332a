"""Cohere v2: `POST /v2/chat` (and its SSE stream) and `POST /v2/embed`, bearer auth.

Wire format: https://docs.cohere.com/reference/chat and /reference/embed. The v2 chat
request is close to OpenAI's (messages, tools and tool calls share the shape); the
response and stream are Cohere's own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from ..errors import BadRequestError, UpstreamError
from ..types import UpstreamRequest, UpstreamResponse, Usage
from .base import ChatResult, Credential, EmbeddingResult, Target, static_credential
from .cohere_stream import CohereStreamDecoder, cohere_finish, cohere_usage
from .errormap import upstream_error
from .openai_shape import (
    content_parts,
    decode_json,
    embedding_list,
    embedding_texts,
    new_id,
    redact,
    reject_n,
    reject_params,
    single_choice_result,
    stop_list,
    text_of,
)

__all__ = ["CohereAdapter"]

_UNSUPPORTED = ("logprobs", "top_logprobs", "logit_bias", "audio", "prediction")
_encode = msgspec.json.Encoder().encode


def _content(content: Any) -> str | list[dict[str, Any]]:
    parts = content_parts(content)
    if all(p.get("type") == "text" for p in parts):
        return text_of(parts)
    out: list[dict[str, Any]] = []
    for part in parts:
        if part.get("type") == "text":
            out.append({"type": "text", "text": part.get("text", "")})
        elif part.get("type") == "image_url":
            out.append({"type": "image_url", "image_url": part.get("image_url")})
        else:
            raise BadRequestError(
                f"provider 'cohere' does not accept content parts of type {part.get('type')!r}",
                param="messages",
            )
    return out


def _messages(messages: list[Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for message in messages:
        role = message.get("role")
        if role in ("system", "developer"):
            out.append({"role": "system", "content": text_of(message.get("content"))})
        elif role == "user":
            out.append({"role": "user", "content": _content(message.get("content"))})
        elif role == "assistant":
            native: dict[str, Any] = {"role": "assistant"}
            text = text_of(message.get("content"))
            if text:
                native["content"] = text
            if message.get("tool_calls"):
                native["tool_calls"] = [
                    {
                        "id": c.get("id"),
                        "type": "function",
                        "function": {
                            "name": (c.get("function") or {}).get("name"),
                            "arguments": (c.get("function") or {}).get("arguments") or "{}",
                        },
                    }
                    for c in message["tool_calls"]
                ]
            out.append(native)
        elif role == "tool":
            out.append(
                {
                    "role": "tool",
                    "tool_call_id": message.get("tool_call_id"),
                    "content": text_of(message.get("content")),
                }
            )
        else:
            raise BadRequestError(f"unknown message role {role!r}", param="messages")
    return out


def build_chat(target: Target, body: Mapping[str, Any]) -> dict[str, Any]:
    reject_n(body, "cohere")
    reject_params(body, "cohere", _UNSUPPORTED)
    native: dict[str, Any] = {
        "model": target.model,
        "messages": _messages(list(body.get("messages") or ())),
    }
    for ours, theirs in (
        ("temperature", "temperature"),
        ("top_p", "p"),
        ("seed", "seed"),
        ("frequency_penalty", "frequency_penalty"),
        ("presence_penalty", "presence_penalty"),
    ):
        if body.get(ours) is not None:
            native[theirs] = body[ours]
    max_tokens = body.get("max_completion_tokens") or body.get("max_tokens")
    if max_tokens:
        native["max_tokens"] = max_tokens
    stops = stop_list(body.get("stop"))
    if stops:
        native["stop_sequences"] = stops
    tools = [t for t in body.get("tools") or () if t.get("type") == "function"]
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and isinstance(choice.get("function"), dict):
        # Cohere cannot name a tool: offer only that one, and require a call
        name = choice["function"].get("name")
        tools = [t for t in tools if t["function"].get("name") == name]
        choice = "required"
    if tools:
        native["tools"] = tools
        if choice == "required":
            native["tool_choice"] = "REQUIRED"
        elif choice == "none":
            native["tool_choice"] = "NONE"
        elif choice not in (None, "auto"):
            raise BadRequestError(
                "tool_choice must be 'auto', 'none', 'required' or a function", param="tool_choice"
            )
    response_format = body.get("response_format")
    if isinstance(response_format, dict) and response_format.get("type") in (
        "json_object",
        "json_schema",
    ):
        native_format: dict[str, Any] = {"type": "json_object"}
        schema = (response_format.get("json_schema") or {}).get("schema")
        if response_format["type"] == "json_schema" and isinstance(schema, dict):
            native_format["json_schema"] = schema
        native["response_format"] = native_format
    return native


class CohereAdapter:
    name = "cohere"
    base64_embeddings = False
    default_base_url: str | None = "https://api.cohere.com/v2"
    env_var: str | None = "COHERE_API_KEY"

    def credential(self, api_key: str | None) -> Credential:
        return static_credential(api_key)

    def headers(self, target: Target) -> dict[str, str]:
        headers = {"content-type": "application/json", "accept": "application/json"}
        if target.api_key:
            headers["authorization"] = "Bearer " + target.api_key
        return headers

    def chat_request(
        self, target: Target, body: dict[str, Any], *, stream: bool
    ) -> UpstreamRequest:
        native = build_chat(target, body)
        headers = self.headers(target)
        if stream:
            native["stream"] = True
            headers["accept"] = "text/event-stream"
        return UpstreamRequest(
            "POST", target.base_url.rstrip("/") + "/chat", headers, _encode(native)
        )

    def chat_response(self, target: Target, response: UpstreamResponse) -> ChatResult:
        raw = decode_json(target, response.body)
        message = raw.get("message") or {}
        text = "".join(
            part.get("text", "")
            for part in message.get("content") or ()
            if part.get("type") == "text"
        )
        tool_calls = [
            {
                "id": c.get("id"),
                "type": "function",
                "function": {
                    "name": (c.get("function") or {}).get("name"),
                    "arguments": (c.get("function") or {}).get("arguments") or "{}",
                },
            }
            for c in message.get("tool_calls") or ()
        ]
        answer: dict[str, Any] = {"role": "assistant", "content": text or None, "refusal": None}
        if tool_calls:
            answer["tool_calls"] = tool_calls
        finish = cohere_finish(raw.get("finish_reason"), called_tools=bool(tool_calls))
        usage = cohere_usage(raw.get("usage") or {})
        response_id = raw.get("id") or new_id()
        result = single_choice_result(
            response_id=response_id, model=target.model, message=answer, finish=finish, usage=usage
        )
        if raw.get("finish_reason") == "STOP_SEQUENCE":
            result.stop_sequence = ""  # Cohere says one matched, not which
        return result

    def stream_decoder(self, target: Target, *, include_usage: bool) -> CohereStreamDecoder:
        return CohereStreamDecoder(
            target,
            include_usage=include_usage,
            on_error=lambda payload: self.error(target, 502, {}, payload),
        )

    def embeddings_request(self, target: Target, body: dict[str, Any]) -> UpstreamRequest:
        native: dict[str, Any] = {
            "model": target.model,
            "texts": embedding_texts(body, target.provider),
            "input_type": body.get("input_type") or "search_document",
            "embedding_types": ["float"],
        }
        if body.get("dimensions"):
            native["output_dimension"] = body["dimensions"]
        return UpstreamRequest(
            "POST", target.base_url.rstrip("/") + "/embed", self.headers(target), _encode(native)
        )

    def embeddings_response(self, target: Target, response: UpstreamResponse) -> EmbeddingResult:
        raw = decode_json(target, response.body)
        embeddings = raw.get("embeddings")
        found = embeddings.get("float") if isinstance(embeddings, dict) else embeddings
        vectors: list[list[float]] = found if isinstance(found, list) else []
        billed = ((raw.get("meta") or {}).get("billed_units") or {}).get("input_tokens")
        tokens = int(billed or 0)
        usage = Usage(prompt_tokens=tokens, total_tokens=tokens)
        return EmbeddingResult(
            body=embedding_list(vectors, model=target.model, usage=usage),
            usage=usage,
            model=target.model,
        )

    def error(
        self, target: Target, status: int, headers: Mapping[str, str], body: bytes
    ) -> UpstreamError:
        try:
            raw = msgspec.json.decode(body)
        except msgspec.DecodeError:
            raw = None
        message: str | None = None
        if isinstance(raw, dict):
            message = raw.get("message") or (raw.get("delta") or {}).get("error")
        elif body:
            message = body[:200].decode("utf-8", "replace").strip() or None
        return upstream_error(target.provider, status, redact(message, target.api_key), headers)
