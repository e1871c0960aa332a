"""Gemini `GenerateContentResponse` to OpenAI completions and streamed chunks.

Both the Gemini API and Vertex AI answer in this shape; with `alt=sse` each event's
data is one whole `GenerateContentResponse`, so every event becomes chunks at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import msgspec

from ..errors import UpstreamError
from ..types import Usage
from .base import ChatResult, Target
from .openai_shape import chat_completion, chunk, decode_json, new_id, usage_chunk
from .sse import SSEChunkDecoder, SSEParser

__all__ = ["GeminiStreamDecoder", "gemini_chat_result", "gemini_finish", "gemini_usage"]

_CONTENT_FILTER = frozenset(
    {
        "SAFETY",
        "RECITATION",
        "BLOCKLIST",
        "PROHIBITED_CONTENT",
        "SPII",
        "IMAGE_SAFETY",
        "IMAGE_PROHIBITED_CONTENT",
    }
)
_encode = msgspec.json.Encoder().encode

ErrorMapper = Callable[[int, bytes], UpstreamError]


def gemini_finish(reason: str | None, *, called_tools: bool) -> str:
    if reason == "MAX_TOKENS":
        return "length"
    if reason in _CONTENT_FILTER:
        return "content_filter"
    return "tool_calls" if called_tools else "stop"


def gemini_usage(raw: Mapping[str, Any]) -> Usage:
    """Thought tokens are billed as output, so they count as completion (as OpenAI's
    reasoning tokens do) and are also reported as `reasoning_tokens`."""
    prompt = int(raw.get("promptTokenCount") or 0) + int(raw.get("toolUsePromptTokenCount") or 0)
    thoughts = int(raw.get("thoughtsTokenCount") or 0)
    completion = int(raw.get("candidatesTokenCount") or 0) + thoughts
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=int(raw.get("totalTokenCount") or prompt + completion),
        cached_tokens=int(raw.get("cachedContentTokenCount") or 0),
        reasoning_tokens=thoughts,
    )


def _split_parts(parts: Any) -> tuple[str, list[dict[str, Any]]]:
    """Visible text and function calls of a candidate (thought parts are skipped)."""
    text: list[str] = []
    calls: list[dict[str, Any]] = []
    for part in parts or ():
        if part.get("thought"):
            continue
        if "text" in part:
            text.append(part["text"])
        elif "functionCall" in part:
            call = part["functionCall"]
            calls.append(
                {
                    "id": call.get("id") or new_id("call_"),
                    "type": "function",
                    "function": {
                        "name": call.get("name"),
                        "arguments": _encode(call.get("args") or {}).decode(),
                    },
                }
            )
    return "".join(text), calls


def gemini_chat_result(target: Target, raw: Mapping[str, Any]) -> ChatResult:
    choices: list[dict[str, Any]] = []
    for position, candidate in enumerate(raw.get("candidates") or ()):
        text, calls = _split_parts((candidate.get("content") or {}).get("parts"))
        message: dict[str, Any] = {"role": "assistant", "content": text or None, "refusal": None}
        if calls:
            message["tool_calls"] = calls
        choices.append(
            {
                "index": candidate.get("index", position),
                "message": message,
                "logprobs": None,
                "finish_reason": gemini_finish(
                    candidate.get("finishReason"), called_tools=bool(calls)
                ),
            }
        )
    if not choices and (raw.get("promptFeedback") or {}).get("blockReason"):
        choices.append(
            {
                "index": 0,
                "logprobs": None,
                "finish_reason": "content_filter",
                "message": {"role": "assistant", "content": None, "refusal": None},
            }
        )
    usage = gemini_usage(raw.get("usageMetadata") or {})
    response_id = raw.get("responseId") or new_id()
    model = raw.get("modelVersion") or target.model
    return ChatResult(
        body=chat_completion(response_id=response_id, model=model, choices=choices, usage=usage),
        usage=usage,
        model=model,
        response_id=response_id,
        finish_reasons=[c["finish_reason"] for c in choices],
    )


class GeminiStreamDecoder(SSEChunkDecoder):
    _ending = "a finish reason"

    def __init__(self, target: Target, *, include_usage: bool, on_error: ErrorMapper) -> None:
        self._target = target
        self._provider = target.provider
        self._include_usage = include_usage
        self._on_error = on_error
        self._parser = SSEParser()
        self._created = int(time.time())
        self._started: set[int] = set()
        self._tool_count: dict[int, int] = {}
        self.usage: Usage | None = None
        self.response_id: str | None = None
        self.model: str | None = None
        self.finish_reasons: list[str] = []

    def _complete(self) -> bool:
        return bool(self.finish_reasons)

    def _tail(self) -> list[bytes]:
        if not self._include_usage or self.usage is None:
            return []
        return [
            usage_chunk(
                response_id=self.response_id or "",
                model=self.model or self._target.model,
                created=self._created,
                usage=self.usage,
            )
        ]

    def _chunk(self, index: int, delta: dict[str, Any], finish: str | None = None) -> bytes:
        return chunk(
            response_id=self.response_id or "",
            model=self.model or self._target.model,
            created=self._created,
            delta=delta,
            finish_reason=finish,
            index=index,
        )

    def _on_event(self, payload: bytes) -> list[bytes]:
        if not payload:
            return []
        raw = decode_json(self._target, payload, "a stream event")
        if not isinstance(raw, dict):
            return []
        if "error" in raw:
            raise self._on_error(200, payload)
        if self.response_id is None:
            self.response_id = raw.get("responseId") or new_id()
            self.model = raw.get("modelVersion") or self._target.model
        if raw.get("usageMetadata"):
            self.usage = gemini_usage(raw["usageMetadata"])
        out: list[bytes] = []
        candidates = raw.get("candidates") or ()
        if not candidates and (raw.get("promptFeedback") or {}).get("blockReason"):
            self.finish_reasons.append("content_filter")
            return [self._chunk(0, {"role": "assistant", "content": ""}, "content_filter")]
        for position, candidate in enumerate(candidates):
            out.extend(self._candidate(candidate.get("index", position), candidate))
        return out

    def _candidate(self, index: int, candidate: Mapping[str, Any]) -> list[bytes]:
        text, calls = _split_parts((candidate.get("content") or {}).get("parts"))
        delta: dict[str, Any] = {}
        if index not in self._started:
            self._started.add(index)
            delta["role"] = "assistant"
        if text:
            delta["content"] = text
        if calls:
            first = self._tool_count.get(index, 0)
            self._tool_count[index] = first + len(calls)
            delta["tool_calls"] = [{"index": first + i, **call} for i, call in enumerate(calls)]
        finish: str | None = None
        if candidate.get("finishReason"):
            finish = gemini_finish(
                candidate["finishReason"], called_tools=index in self._tool_count
            )
            self.finish_reasons.append(finish)
        if not delta and finish is None:
            return []
        return [self._chunk(index, delta, finish)]
