"""An in-process OpenAI-compatible upstream: deterministic echo chat, streams, embeddings.

It backs the built-in `mock` provider (`provider_model = "mock/anything"`) and is the
default behaviour of `literllm.testing.FakeUpstream`. Token counts are estimates (about
four characters a token) so that limits, budgets and metrics see realistic numbers.
"""

from __future__ import annotations

import base64
import hashlib
import math
import struct
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import msgspec

from . import mock_media
from .base import UpstreamRequest, UpstreamResponse

__all__ = ["MockUpstream", "chat_chunks", "chat_completion", "embeddings", "estimate_tokens"]

_encode = msgspec.json.Encoder().encode
_JSON = {"content-type": "application/json"}
_SSE = {"content-type": "text/event-stream"}


def estimate_tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / 4)) if text else 0


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def _prompt(body: Mapping[str, Any]) -> tuple[str, int]:
    messages = body.get("messages") or []
    last = ""
    total = 0
    for message in messages:
        if isinstance(message, dict):
            text = _text_of(message.get("content"))
            total += estimate_tokens(text) + 3
            if message.get("role") in ("user", "tool"):
                last = text
    return last, max(total, 1)


def _tool_call(body: Mapping[str, Any], last: str) -> dict[str, Any] | None:
    tools = body.get("tools") or []
    choice = body.get("tool_choice")
    if not tools or choice in (None, "none", "auto"):
        return None
    name = None
    if isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name")
    if name is None:
        first = tools[0] if isinstance(tools[0], dict) else {}
        name = (first.get("function") or {}).get("name", "tool")
    digest = hashlib.sha256(last.encode()).hexdigest()[:24]
    return {
        "id": "call_" + digest,
        "type": "function",
        "function": {"name": name, "arguments": _encode({"input": last}).decode()},
    }


def _usage(prompt: int, completion: int) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0},
    }


def _completion_id(body: Mapping[str, Any]) -> str:
    return "chatcmpl-mock" + hashlib.sha256(_encode(body.get("messages"))).hexdigest()[:20]


def chat_completion(body: Mapping[str, Any], *, created: int | None = None) -> dict[str, Any]:
    """The mock's answer: the last user (or tool) message, echoed back."""
    last, prompt_tokens = _prompt(body)
    model = str(body.get("model", "mock"))
    call = _tool_call(body, last)
    if call is not None:
        message: dict[str, Any] = {
            "role": "assistant",
            "content": None,
            "tool_calls": [call],
            "refusal": None,
        }
        finish, completion_tokens = "tool_calls", estimate_tokens(call["function"]["arguments"])
    else:
        reply = "echo: " + last
        message = {"role": "assistant", "content": reply, "refusal": None}
        finish, completion_tokens = "stop", estimate_tokens(reply)
    return {
        "id": _completion_id(body),
        "object": "chat.completion",
        "created": int(time.time()) if created is None else created,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
        "usage": _usage(prompt_tokens, completion_tokens),
    }


def chat_chunks(body: Mapping[str, Any], *, created: int | None = None) -> list[dict[str, Any]]:
    """The same answer as `chat_completion`, as stream chunks (usage chunk when asked)."""
    full = chat_completion(body, created=created)
    base = {
        "id": full["id"],
        "object": "chat.completion.chunk",
        "created": full["created"],
        "model": full["model"],
    }
    message = full["choices"][0]["message"]
    deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
    if message.get("tool_calls"):
        call = message["tool_calls"][0]
        deltas.append(
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": call["id"],
                        "type": "function",
                        "function": {"name": call["function"]["name"], "arguments": ""},
                    }
                ]
            }
        )
        deltas.append(
            {"tool_calls": [{"index": 0, "function": {"arguments": call["function"]["arguments"]}}]}
        )
    else:
        words = message["content"].split(" ")
        deltas.extend({"content": w if i == 0 else " " + w} for i, w in enumerate(words))
    chunks = [
        {**base, "choices": [{"index": 0, "delta": d, "finish_reason": None, "logprobs": None}]}
        for d in deltas
    ]
    chunks.append(
        {
            **base,
            "choices": [
                {
                    "index": 0,
                    "delta": {},
                    "finish_reason": full["choices"][0]["finish_reason"],
                    "logprobs": None,
                }
            ],
        }
    )
    options = body.get("stream_options")
    if isinstance(options, dict) and options.get("include_usage"):
        chunks.append({**base, "choices": [], "usage": full["usage"]})
    return chunks


def embeddings(body: Mapping[str, Any]) -> dict[str, Any]:
    raw = body.get("input", "")
    inputs = raw if isinstance(raw, list) and raw and not isinstance(raw[0], int) else [raw]
    dims = body.get("dimensions") if isinstance(body.get("dimensions"), int) else 16
    data = []
    tokens = 0
    for index, item in enumerate(inputs):
        text = item if isinstance(item, str) else " ".join(map(str, item))
        tokens += estimate_tokens(text)
        vector = _vector(text, max(1, min(int(dims or 16), 4096)))
        embedding: Any = vector
        if body.get("encoding_format") == "base64":
            embedding = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
        data.append({"object": "embedding", "index": index, "embedding": embedding})
    return {
        "object": "list",
        "data": data,
        "model": str(body.get("model", "mock")),
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


def _vector(text: str, dims: int) -> list[float]:
    seed = hashlib.sha256(text.encode()).digest()
    values = [((seed[i % 32] + 7 * i) % 256) / 127.5 - 1.0 for i in range(dims)]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return [round(v / norm, 6) for v in values]


def _error(status: int, message: str) -> UpstreamResponse:
    body = {
        "error": {"message": message, "type": "invalid_request_error", "param": None, "code": None}
    }
    return UpstreamResponse(status, _JSON, _encode(body))


class MockUpstream:
    """A `Transport` that answers OpenAI-style requests in-process."""

    async def send(self, request: UpstreamRequest, *, timeout: float) -> UpstreamResponse:
        media = mock_media.answer(request)
        if media is not None:
            return media
        try:
            body = msgspec.json.decode(request.body) if request.body else {}
        except msgspec.DecodeError:
            return _error(400, "request body is not valid JSON")
        if request.url.endswith("/chat/completions"):
            return UpstreamResponse(200, _JSON, _encode(chat_completion(body)))
        if request.url.endswith("/embeddings"):
            return UpstreamResponse(200, _JSON, _encode(embeddings(body)))
        return _error(404, "the mock provider answers chat completions and embeddings only")

    async def open_stream(self, request: UpstreamRequest, *, timeout: float) -> _MockStream:
        upload = mock_media.stream_upload(request)
        if upload is not None:
            return _MockStream(200, upload[0], content_type=upload[1])
        try:
            body = msgspec.json.decode(request.body) if request.body else {}
        except msgspec.DecodeError:
            return _MockStream(400, [], _error(400, "request body is not valid JSON").body)
        media = mock_media.stream(request.url, body)
        if media is not None:
            return _MockStream(200, media[0], content_type=media[1])
        payloads = [b"data: " + _encode(c) + b"\n\n" for c in chat_chunks(body)]
        payloads.append(b"data: [DONE]\n\n")
        return _MockStream(200, payloads)

    async def aclose(self) -> None:
        return None


class _MockStream:
    def __init__(
        self,
        status: int,
        payloads: list[bytes],
        body: bytes = b"",
        content_type: str | None = None,
    ) -> None:
        self.status = status
        self.headers: Mapping[str, str] = (
            {"content-type": content_type} if content_type else _SSE if status == 200 else _JSON
        )
        self._payloads = payloads
        self._body = body

    async def chunks(self) -> AsyncIterator[bytes]:
        for payload in self._payloads:
            yield payload

    async def read(self) -> bytes:
        return self._body or b"".join(self._payloads)

    async def aclose(self) -> None:
        return None
