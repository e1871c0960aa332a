"""Anthropic Messages streaming events to OpenAI chat-completion chunks, as they arrive.

Events (https://docs.anthropic.com/en/api/messages-streaming): `message_start`,
`content_block_start/delta/stop`, `message_delta` (stop reason, output usage),
`message_stop`, `ping`, `error`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Protocol

from ..errors import UpstreamError
from ..types import Usage
from .base import Target
from .openai_shape import chunk, decode_json, usage_chunk
from .sse import SSEChunkDecoder, SSEParser

__all__ = ["AnthropicStreamDecoder", "anthropic_usage", "finish_reason"]

_FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


def finish_reason(stop_reason: str | None) -> str:
    return _FINISH.get(stop_reason or "", "stop")


def anthropic_usage(raw: Mapping[str, Any]) -> Usage:
    """Anthropic's `input_tokens` excludes cache reads and writes; OpenAI's prompt count
    includes them, with the cached part broken out."""
    cache_read = int(raw.get("cache_read_input_tokens") or 0)
    cache_write = int(raw.get("cache_creation_input_tokens") or 0)
    prompt = int(raw.get("input_tokens") or 0) + cache_read + cache_write
    completion = int(raw.get("output_tokens") or 0)
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=prompt + completion,
        cached_tokens=cache_read,
        cache_write_tokens=cache_write,
    )


class _ErrorMapper(Protocol):
    def error(
        self, target: Target, status: int, headers: Mapping[str, str], body: bytes
    ) -> UpstreamError: ...


class AnthropicStreamDecoder(SSEChunkDecoder):
    _ending = "message_stop"

    def __init__(self, target: Target, *, include_usage: bool, adapter: _ErrorMapper) -> None:
        self._target = target
        self._provider = target.provider
        self._include_usage = include_usage
        self._adapter = adapter
        self._parser = SSEParser()
        self._created = int(time.time())
        self._raw_usage: dict[str, Any] = {}
        self._tool_index: dict[int, int] = {}
        self._done = False
        self.usage: Usage | None = None
        self.response_id: str | None = None
        self.model: str | None = None
        self.finish_reasons: list[str] = []

    def _complete(self) -> bool:
        return self._done

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> bytes:
        return chunk(
            response_id=self.response_id or "",
            model=self.model or self._target.model,
            created=self._created,
            delta=delta,
            finish_reason=finish,
        )

    def _update_usage(self, raw: Mapping[str, Any] | None) -> None:
        if raw:
            self._raw_usage.update({k: v for k, v in raw.items() if v is not None})
            self.usage = anthropic_usage(self._raw_usage)

    def _on_event(self, payload: bytes) -> list[bytes]:
        if not payload:
            return []
        event = decode_json(self._target, payload, "a stream event")
        kind = event.get("type") if isinstance(event, dict) else None
        if kind == "message_start":
            message = event.get("message") or {}
            self.response_id = message.get("id")
            self.model = message.get("model") or self._target.model
            self._update_usage(message.get("usage"))
            return [self._chunk({"role": "assistant", "content": ""})]
        if kind == "content_block_start":
            return self._block_start(int(event.get("index", 0)), event.get("content_block") or {})
        if kind == "content_block_delta":
            return self._block_delta(int(event.get("index", 0)), event.get("delta") or {})
        if kind == "message_delta":
            self._update_usage(event.get("usage"))
            stop_reason = (event.get("delta") or {}).get("stop_reason")
            if stop_reason is None:
                return []
            finish = finish_reason(stop_reason)
            self.finish_reasons.append(finish)
            return [self._chunk({}, finish)]
        if kind == "message_stop":
            self._done = True
            if self._include_usage and self.usage is not None:
                return [
                    usage_chunk(
                        response_id=self.response_id or "",
                        model=self.model or self._target.model,
                        created=self._created,
                        usage=self.usage,
                    )
                ]
            return []
        if kind == "error":
            raise self._adapter.error(self._target, 200, {}, payload)
        return []  # ping, content_block_stop, and event types added later

    def _block_start(self, index: int, block: Mapping[str, Any]) -> list[bytes]:
        if block.get("type") == "text" and block.get("text"):
            return [self._chunk({"content": block["text"]})]
        if block.get("type") == "tool_use":
            tool_index = len(self._tool_index)
            self._tool_index[index] = tool_index
            return [
                self._chunk(
                    {
                        "tool_calls": [
                            {
                                "index": tool_index,
                                "id": block.get("id"),
                                "type": "function",
                                "function": {"name": block.get("name"), "arguments": ""},
                            }
                        ]
                    }
                )
            ]
        return []

    def _block_delta(self, index: int, delta: Mapping[str, Any]) -> list[bytes]:
        kind = delta.get("type")
        if kind == "text_delta" and delta.get("text"):
            return [self._chunk({"content": delta["text"]})]
        if kind == "input_json_delta" and delta.get("partial_json") and index in self._tool_index:
            return [
                self._chunk(
                    {
                        "tool_calls": [
                            {
                                "index": self._tool_index[index],
                                "function": {"arguments": delta["partial_json"]},
                            }
                        ]
                    }
                )
            ]
        return []  # thinking, signature and citation deltas have no chat-completions field
