"""An in-process OpenAI-compatible upstream: deterministic echo chat, streams, embeddings,
and the Responses API (`mock_responses`).

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
from .mock_reply import argument_fragments, mock_reply, text_of

__all__ = ["MockUpstream", "chat_chunks", "chat_completion", "embeddings", "estimate_tokens"]

_encode = msgspec.json.Encoder().encode
_JSON = {"content-type": "application/json"}
_SSE = {"content-type": "text/event-stream"}


def estimate_tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / 4)) if text else 0


def _prompt(body: Mapping[str, Any]) -> tuple[str, int]:
    messages = body.get("messages") or []
    last = ""
    total = 0
    for message in messages:
        if isinstance(message, dict):
            text = text_of(message.get("content"))
            total += estimate_tokens(text) + 3
            if message.get("role") in ("user", "tool"):
                last = text
    return last, max(total, 1)


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
    """The mock's answer: a tool call, or text (see `mock_reply` for the rules)."""
    _, prompt_tokens = _prompt(body)
    model = str(body.get("model", "mock"))
    reply = mock_reply(body)
    if reply.arguments is not None:
        call = {
            "id": reply.tool_id,
            "type": "function",
            "function": {"name": reply.tool_name, "arguments": reply.arguments},
        }
        message: dict[str, Any] = {
            "role": "assistant",
            "content": None,
            "tool_calls": [call],
            "refusal": None,
        }
        finish, completion_tokens = "tool_calls", estimate_tokens(reply.arguments)
    else:
        content = reply.content or ""
        message = {"role": "assistant", "content": content, "refusal": None}
        finish, completion_tokens = "stop", estimate_tokens(content)
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
    deltas: list[dict[str, Any]]
    if message.get("tool_calls"):
        # As OpenAI streams a call: the first delta names it with empty arguments,
        # the following ones carry the arguments a token or so at a time.
        call = message["tool_calls"][0]
        first = {
            "index": 0,
            "id": call["id"],
            "type": "function",
            "function": {"name": call["function"]["name"], "arguments": ""},
        }
        deltas = [{"role": "assistant", "content": None, "tool_calls": [first]}]
        deltas.extend(
            {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}
            for piece in argument_fragments(call["function"]["arguments"])
        )
    else:
        deltas = [{"role": "assistant", "content": ""}]
        deltas.extend({"content": piece} for piece in _content_pieces(message["content"]))
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


def _content_pieces(content: str) -> list[str]:
    """Text a word at a time; JSON (structured output) a token or so at a time."""
    if content.startswith(("{", "[")):
        return argument_fragments(content)
    words = content.split(" ")
    return [w if i == 0 else " " + w for i, w in enumerate(words)]


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
    """A `Transport` that answers OpenAI-style requests in-process (chat completions,
    embeddings, media, and the Responses API with its stored responses)."""

    def __init__(self) -> None:
        from .mock_responses import MockResponses

        self.responses = MockResponses()

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
        if request.url.endswith("/responses"):
            status, answer = self.responses.create(body)
            return UpstreamResponse(status, _JSON, _encode(answer))
        return _error(
            404, "the mock provider answers chat completions, responses and embeddings only"
        )

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
        if request.url.endswith("/responses"):
            status, events = self.responses.events(body)
            return _MockStream(status, events if status == 200 else [], b"".join(events))
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
