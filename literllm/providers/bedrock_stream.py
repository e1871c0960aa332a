"""Bedrock `ConverseStream` (AWS event-stream framing) to OpenAI chunks, as frames arrive.

Frames (`application/vnd.amazon.eventstream`) are decoded, CRCs checked, by botocore's
`EventStreamBuffer`. Events: `messageStart`, `contentBlockStart`, `contentBlockDelta`,
`contentBlockStop`, `messageStop` (stop reason), `metadata` (usage); exceptions arrive
as frames with `:message-type` `exception`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import msgspec

from ..errors import ConfigError, UpstreamError
from ..types import Usage
from .base import Target
from .openai_shape import chunk, decode_json, new_id, usage_chunk

__all__ = ["BedrockStreamDecoder", "bedrock_finish", "bedrock_usage"]

_FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "guardrail_intervened": "content_filter",
    "content_filtered": "content_filter",
}

ExceptionMapper = Callable[[str, bytes], UpstreamError]
"""(exception type, payload) to the error to raise."""


def bedrock_finish(stop_reason: str | None) -> str:
    return _FINISH.get(stop_reason or "", "stop")


def bedrock_usage(raw: Mapping[str, Any]) -> Usage:
    """Converse's `inputTokens` excludes cache reads and writes, like Anthropic's."""
    cache_read = int(raw.get("cacheReadInputTokens") or 0)
    cache_write = int(raw.get("cacheWriteInputTokens") or 0)
    prompt = int(raw.get("inputTokens") or 0) + cache_read + cache_write
    completion = int(raw.get("outputTokens") or 0)
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=int(raw.get("totalTokens") or prompt + completion),
        cached_tokens=cache_read,
        cache_write_tokens=cache_write,
    )


class BedrockStreamDecoder:
    def __init__(
        self, target: Target, *, include_usage: bool, on_exception: ExceptionMapper
    ) -> None:
        try:
            from botocore.eventstream import EventStreamBuffer
        except ImportError:
            raise ConfigError(
                "provider 'bedrock' decodes streams with botocore; install "
                "it with: pip install 'literllm[bedrock]'"
            ) from None
        self._buffer = EventStreamBuffer()
        self._target = target
        self._include_usage = include_usage
        self._on_exception = on_exception
        self._created = int(time.time())
        self._tool_index: dict[int, int] = {}
        self._done = False
        self.usage: Usage | None = None
        self.response_id: str | None = new_id()
        self.model: str | None = target.model
        self.finish_reasons: list[str] = []
        self.stop_sequence: str | None = None
        """"" once the provider said a stop sequence ended the answer (not which)."""

    def feed(self, data: bytes) -> list[bytes]:
        from botocore.eventstream import ParserError

        self._buffer.add_data(data)
        out: list[bytes] = []
        try:
            for message in self._buffer:
                out.extend(self._on_frame(message.headers, message.payload))
        except ParserError as exc:
            raise UpstreamError(
                f"provider {self._target.provider!r} sent a corrupt "
                f"event-stream frame ({type(exc).__name__})",
                status=502,
                retryable=False,
            ) from None
        return out

    def close(self) -> list[bytes]:
        if not self._done:
            raise UpstreamError(
                f"provider {self._target.provider!r} ended the stream before its metadata event",
                status=502,
                retryable=False,
            )
        return []

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> bytes:
        return chunk(
            response_id=self.response_id or "",
            model=self.model or "",
            created=self._created,
            delta=delta,
            finish_reason=finish,
        )

    def _on_frame(self, headers: Mapping[str, Any], payload: bytes) -> list[bytes]:
        message_type = headers.get(":message-type")
        if message_type == "exception":
            raise self._on_exception(str(headers.get(":exception-type") or ""), payload)
        if message_type == "error":
            message = str(headers.get(":error-message") or headers.get(":error-code") or "")
            raise self._on_exception(
                str(headers.get(":error-code") or ""), msgspec.json.encode({"message": message})
            )
        event_type = headers.get(":event-type")
        event = decode_json(self._target, payload, "a stream event") if payload else {}
        if event_type == "messageStart":
            return [self._chunk({"role": "assistant", "content": ""})]
        if event_type == "contentBlockStart":
            start = (event.get("start") or {}).get("toolUse")
            if start is None:
                return []
            tool_index = len(self._tool_index)
            self._tool_index[int(event.get("contentBlockIndex", 0))] = tool_index
            return [
                self._chunk(
                    {
                        "tool_calls": [
                            {
                                "index": tool_index,
                                "id": start.get("toolUseId"),
                                "type": "function",
                                "function": {"name": start.get("name"), "arguments": ""},
                            }
                        ]
                    }
                )
            ]
        if event_type == "contentBlockDelta":
            return self._delta(int(event.get("contentBlockIndex", 0)), event.get("delta") or {})
        if event_type == "messageStop":
            finish = bedrock_finish(event.get("stopReason"))
            self.finish_reasons.append(finish)
            if event.get("stopReason") == "stop_sequence":
                self.stop_sequence = ""
            return [self._chunk({}, finish)]
        if event_type == "metadata":
            self._done = True
            self.usage = bedrock_usage(event.get("usage") or {})
            if self._include_usage:
                return [
                    usage_chunk(
                        response_id=self.response_id or "",
                        model=self.model or "",
                        created=self._created,
                        usage=self.usage,
                    )
                ]
        return []

    def _delta(self, index: int, delta: Mapping[str, Any]) -> list[bytes]:
        if delta.get("text"):
            return [self._chunk({"content": delta["text"]})]
        tool_use = delta.get("toolUse")
        if tool_use and tool_use.get("input") and index in self._tool_index:
            return [
                self._chunk(
                    {
                        "tool_calls": [
                            {
                                "index": self._tool_index[index],
                                "function": {"arguments": tool_use["input"]},
                            }
                        ]
                    }
                )
            ]
        return []  # reasoningContent and citations have no chat-completions field
