"""OpenAI chat-completion chunks to Anthropic's streaming events, as they arrive.

Event sequence (https://docs.anthropic.com/en/api/messages-streaming): `message_start`,
`ping`, then per content block `content_block_start`, `content_block_delta`s
(`text_delta`, `thinking_delta`, `input_json_delta`), `content_block_stop`; at the end
`message_delta` (stop reason, usage) and `message_stop`. Each event is returned framed
(`event: <type>\\ndata: <json>\\n\\n`) so the server writes the bytes as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from ..types import Usage
from .anthropic_messages import message_id, stop_details, stop_reason, usage_object

__all__ = ["MessagesEventEncoder", "sse_event"]

_encode = msgspec.json.Encoder().encode


def sse_event(event: dict[str, Any]) -> bytes:
    name: str = event["type"]
    return b"event: " + name.encode() + b"\ndata: " + _encode(event) + b"\n\n"


class MessagesEventEncoder:
    """Feed decoded chat chunks in order; `finish` once the upstream stream ended."""

    def __init__(
        self, *, model: str, input_tokens: int = 0, stop_sequences: list[str] | None = None
    ) -> None:
        self._model = model
        self._stop_sequences = stop_sequences
        self._input_tokens = input_tokens
        self._started = False
        self._finished = False
        self._index = -1
        self._block: str | None = None
        self._tool_blocks: dict[int, int] = {}
        self._finish_reason: str | None = None
        self.usage: Usage | None = None

    def _start(self, chunk: Mapping[str, Any], out: list[bytes]) -> None:
        self._started = True
        chat_id = chunk.get("id")
        usage = usage_object(None)
        usage["input_tokens"] = self._input_tokens
        message: dict[str, Any] = {
            "id": "msg_" + chat_id if isinstance(chat_id, str) and chat_id else message_id(),
            "type": "message",
            "role": "assistant",
            "model": chunk.get("model") or self._model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": usage,
        }
        out.append(sse_event({"type": "message_start", "message": message}))
        out.append(sse_event({"type": "ping"}))

    def _close_block(self, out: list[bytes]) -> None:
        if self._block is not None:
            out.append(sse_event({"type": "content_block_stop", "index": self._index}))
            self._block = None

    def _open_block(self, kind: str, block: dict[str, Any], out: list[bytes]) -> None:
        self._close_block(out)
        self._index += 1
        self._block = kind
        out.append(
            sse_event({"type": "content_block_start", "index": self._index, "content_block": block})
        )

    def _delta(self, index: int, delta: dict[str, Any], out: list[bytes]) -> None:
        out.append(sse_event({"type": "content_block_delta", "index": index, "delta": delta}))

    def feed(self, chunk: Mapping[str, Any]) -> list[bytes]:
        out: list[bytes] = []
        if not self._started:
            self._start(chunk, out)
        usage = chunk.get("usage")
        if isinstance(usage, dict) and usage:
            self.usage = _usage(usage)
        for choice in chunk.get("choices") or ():
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            reasoning = delta.get("reasoning_content")
            if isinstance(reasoning, str) and reasoning:
                if self._block != "thinking":
                    self._open_block("thinking", {"type": "thinking", "thinking": ""}, out)
                self._delta(self._index, {"type": "thinking_delta", "thinking": reasoning}, out)
            text = delta.get("content")
            if isinstance(text, str) and text:
                if self._block != "text":
                    self._open_block("text", {"type": "text", "text": ""}, out)
                self._delta(self._index, {"type": "text_delta", "text": text}, out)
            for call in delta.get("tool_calls") or ():
                self._tool_call(call, out)
            if choice.get("finish_reason"):
                self._finish_reason = choice["finish_reason"]
        return out

    def _tool_call(self, call: Mapping[str, Any], out: list[bytes]) -> None:
        position = int(call.get("index", 0))
        function = call.get("function") or {}
        if position not in self._tool_blocks:
            block: dict[str, Any] = {
                "type": "tool_use",
                "id": call.get("id") or f"toolu_{position}",
                "name": function.get("name") or "",
                "input": {},
            }
            self._open_block("tool_use", block, out)
            self._tool_blocks[position] = self._index
        arguments = function.get("arguments")
        if isinstance(arguments, str) and arguments:
            self._delta(
                self._tool_blocks[position],
                {"type": "input_json_delta", "partial_json": arguments},
                out,
            )

    def finish(self, usage: Usage | None = None, stop_sequence: str | None = None) -> list[bytes]:
        """The closing events; `usage` (the upstream's final count) wins over chunks'.
        `stop_sequence`: see `anthropic_messages.stop_details`."""
        if self._finished:
            return []
        self._finished = True
        out: list[bytes] = []
        if not self._started:
            self._start({}, out)
        self._close_block(out)
        if usage is not None:
            self.usage = usage
        reason = stop_reason(self._finish_reason)
        if reason == "end_turn" and self._tool_blocks:
            reason = "tool_use"
        reason, matched = stop_details(reason, stop_sequence, self._stop_sequences)
        out.append(
            sse_event(
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": reason, "stop_sequence": matched},
                    "usage": usage_object(self.usage),
                }
            )
        )
        out.append(sse_event({"type": "message_stop"}))
        return out


def _usage(raw: Mapping[str, Any]) -> Usage:
    details = raw.get("prompt_tokens_details") or {}
    prompt = int(raw.get("prompt_tokens") or 0)
    completion = int(raw.get("completion_tokens") or 0)
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=int(raw.get("total_tokens") or prompt + completion),
        cached_tokens=int(details.get("cached_tokens") or 0),
        cache_write_tokens=int(details.get("cache_write_tokens") or 0),
    )
