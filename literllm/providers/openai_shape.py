"""Building OpenAI-shaped bodies and reading OpenAI request parts, for native adapters.

Native adapters translate both ways; this module holds the OpenAI side they share:
the completion, chunk and embedding bodies they emit, and the request pieces (content
parts, data URLs, stop lists, tool-call ids) they read.
"""

from __future__ import annotations

import base64
import struct
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import msgspec

from ..errors import BadRequestError, UpstreamError
from ..types import Usage
from .base import ChatResult, Target

__all__ = [
    "chat_completion",
    "chunk",
    "content_parts",
    "decode_json",
    "embedding_list",
    "embedding_texts",
    "embeddings_as_base64",
    "image_url_of",
    "new_id",
    "parse_data_url",
    "redact",
    "reject_n",
    "reject_params",
    "single_choice_result",
    "stop_list",
    "text_of",
    "tool_names_by_id",
    "usage_chunk",
    "usage_dict",
]

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder()


def new_id(prefix: str = "chatcmpl-") -> str:
    return prefix + uuid.uuid4().hex


def decode_json(target: Target, body: bytes, what: str = "a response") -> Any:
    try:
        return _decode.decode(body)
    except msgspec.DecodeError:
        raise UpstreamError(
            f"provider {target.provider!r} sent {what} that is not valid JSON",
            status=502,
            retryable=True,
        ) from None


def redact(message: str | None, secret: str | None) -> str | None:
    if message and secret and secret in message:
        return message.replace(secret, "[redacted]")
    return message


def usage_dict(usage: Usage) -> dict[str, Any]:
    out: dict[str, Any] = {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
    }
    if usage.cached_tokens or usage.cache_write_tokens:
        details: dict[str, int] = {"cached_tokens": usage.cached_tokens}
        if usage.cache_write_tokens:
            details["cache_write_tokens"] = usage.cache_write_tokens
        out["prompt_tokens_details"] = details
    if usage.reasoning_tokens:
        out["completion_tokens_details"] = {"reasoning_tokens": usage.reasoning_tokens}
    return out


def chat_completion(
    *,
    response_id: str,
    model: str,
    choices: list[dict[str, Any]],
    usage: Usage | None,
    created: int | None = None,
) -> bytes:
    body: dict[str, Any] = {
        "id": response_id,
        "object": "chat.completion",
        "created": created if created is not None else int(time.time()),
        "model": model,
        "choices": choices,
    }
    if usage is not None:
        body["usage"] = usage_dict(usage)
    return _encode(body)


def single_choice_result(
    *, response_id: str, model: str, message: dict[str, Any], finish: str, usage: Usage
) -> ChatResult:
    """The `ChatResult` of a provider answer with one choice."""
    body = chat_completion(
        response_id=response_id,
        model=model,
        usage=usage,
        choices=[{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
    )
    return ChatResult(
        body=body, usage=usage, model=model, response_id=response_id, finish_reasons=[finish]
    )


def chunk(
    *,
    response_id: str,
    model: str,
    created: int,
    delta: dict[str, Any],
    finish_reason: str | None = None,
    index: int = 0,
) -> bytes:
    return _encode(
        {
            "id": response_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [
                {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
            ],
        }
    )


def usage_chunk(*, response_id: str, model: str, created: int, usage: Usage) -> bytes:
    return _encode(
        {
            "id": response_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [],
            "usage": usage_dict(usage),
        }
    )


def text_of(content: Any) -> str:
    """The text of a string or a list of content parts (non-text parts ignored)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(
        part.get("text", "")
        for part in content
        if isinstance(part, dict) and part.get("type") == "text"
    )


def content_parts(content: Any) -> list[dict[str, Any]]:
    """A message's content as a list of OpenAI content parts."""
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    if isinstance(content, list):
        return [part for part in content if isinstance(part, dict)]
    raise BadRequestError(
        "message content must be a string or a list of content parts", param="messages"
    )


def parse_data_url(url: str) -> tuple[str, str] | None:
    """`data:<mime>;base64,<data>` as (mime, base64 data); None for other URLs."""
    if not url.startswith("data:"):
        return None
    header, sep, data = url[5:].partition(",")
    if not sep or not header.endswith(";base64"):
        raise BadRequestError(
            "image data URLs must be base64 encoded (data:<mime>;base64,<data>)", param="messages"
        )
    return header[: -len(";base64")] or "application/octet-stream", data


def image_url_of(part: Mapping[str, Any]) -> str:
    image = part.get("image_url")
    url = image.get("url") if isinstance(image, dict) else image
    if not isinstance(url, str) or not url:
        raise BadRequestError("an image_url content part needs a url", param="messages")
    return url


def stop_list(stop: Any) -> list[str] | None:
    if stop is None:
        return None
    if isinstance(stop, str):
        return [stop]
    if isinstance(stop, list) and all(isinstance(s, str) for s in stop):
        return list(stop)
    raise BadRequestError("stop must be a string or a list of strings", param="stop")


def reject_n(body: Mapping[str, Any], provider: str) -> None:
    n = body.get("n")
    if n is not None and n != 1:
        raise BadRequestError(
            f"provider {provider!r} returns one choice per request; n must be 1 or absent",
            param="n",
        )


def reject_params(body: Mapping[str, Any], provider: str, names: Iterable[str]) -> None:
    for name in names:
        if body.get(name) not in (None, False):
            raise BadRequestError(
                f"provider {provider!r} does not support {name!r}; remove it from the request",
                param=name,
            )


def tool_names_by_id(messages: Sequence[Any]) -> dict[str, str]:
    """Tool-call id to function name, from the assistant messages of a conversation."""
    names: dict[str, str] = {}
    for message in messages:
        if isinstance(message, dict) and message.get("role") == "assistant":
            for call in message.get("tool_calls") or ():
                function = call.get("function") or {}
                if call.get("id") and function.get("name"):
                    names[call["id"]] = function["name"]
    return names


def embedding_texts(body: Mapping[str, Any], provider: str) -> list[str]:
    """The `input` of an embeddings request as strings (token arrays are rejected)."""
    value = body.get("input")
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return list(value)
    raise BadRequestError(
        f"provider {provider!r} embeds text only: input must be a string "
        "or a non-empty list of strings",
        param="input",
    )


def embedding_list(vectors: Sequence[Sequence[float]], *, model: str, usage: Usage) -> bytes:
    """An OpenAI embeddings list with float vectors (see `embeddings_as_base64`)."""
    return _encode(
        {
            "object": "list",
            "data": [
                {"object": "embedding", "index": i, "embedding": list(vector)}
                for i, vector in enumerate(vectors)
            ],
            "model": model,
            "usage": {"prompt_tokens": usage.prompt_tokens, "total_tokens": usage.total_tokens},
        }
    )


def embeddings_as_base64(body: bytes) -> bytes:
    """Rewrite an OpenAI embeddings list's float vectors as base64 little-endian float32,
    for clients that asked `encoding_format: "base64"` of a provider that only sends floats.
    """
    raw = _decode.decode(body)
    for item in raw.get("data") or ():
        vector = item.get("embedding")
        if isinstance(vector, list):
            packed = struct.pack(f"<{len(vector)}f", *vector)
            item["embedding"] = base64.b64encode(packed).decode("ascii")
    return _encode(raw)
