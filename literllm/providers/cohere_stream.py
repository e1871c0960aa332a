"""Cohere v2 chat stream events to OpenAI chunks, as they arrive.

Events (https://docs.cohere.com/v2/docs/streaming): `message-start`, `content-start`,
`content-delta`, `content-end`, `tool-plan-delta`, `tool-call-start`,
`tool-call-delta`, `tool-call-end`, `citation-start/end`, `message-end`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import UpstreamError
from ..types import Usage
from .base import Target
from .openai_shape import chunk, decode_json, new_id, usage_chunk
from .sse import SSEChunkDecoder, SSEParser

__all__ = ["CohereStreamDecoder", "cohere_finish", "cohere_usage"]

_FINISH = {
    "COMPLETE": "stop",
    "STOP_SEQUENCE": "stop",
    "MAX_TOKENS": "length",
    "TOOL_CALL": "tool_calls",
    "ERROR_TOXIC": "content_filter",
}


def cohere_finish(reason: str | None, *, called_tools: bool) -> str:
    if called_tools and reason in (None, "COMPLETE", "TOOL_CALL"):
        return "tool_calls"
    return _FINISH.get(reason or "", "stop")


def cohere_usage(raw: Mapping[str, Any]) -> Usage:
    """Counted tokens when reported, else billed units (which leave out the system
    preamble)."""
    counted = raw.get("tokens") or raw.get("billed_units") or {}
    prompt = int(counted.get("input_tokens") or 0)
    completion = int(counted.get("output_tokens") or 0)
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=prompt + completion,
        cached_tokens=int(raw.get("cached_tokens") or 0),
    )


class CohereStreamDecoder(SSEChunkDecoder):
    _ending = "message-end"

    def __init__(
        self, target: Target, *, include_usage: bool, on_error: Callable[[bytes], UpstreamError]
    ) -> None:
        self._target = target
        self._provider = target.provider
        self._include_usage = include_usage
        self._on_error = on_error
        self._parser = SSEParser()
        self._created = int(time.time())
        self._called_tools = False
        self._done = False
        self.usage: Usage | None = None
        self.response_id: str | None = None
        self.model: str | None = target.model
        self.finish_reasons: list[str] = []
        self.stop_sequence: str | None = None
        """"" once the provider said a stop sequence ended the answer (not which)."""

    def _complete(self) -> bool:
        return self._done

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> bytes:
        return chunk(
            response_id=self.response_id or "",
            model=self.model or "",
            created=self._created,
            delta=delta,
            finish_reason=finish,
        )

    def _on_event(self, payload: bytes) -> list[bytes]:
        if not payload or payload == b"[DONE]":
            return []
        event = decode_json(self._target, payload, "a stream event")
        kind = event.get("type") if isinstance(event, dict) else None
        message = ((event.get("delta") or {}).get("message") or {}) if kind else {}
        if kind == "message-start":
            self.response_id = event.get("id") or new_id()
            return [self._chunk({"role": "assistant", "content": ""})]
        if kind in ("content-start", "content-delta"):
            text = (message.get("content") or {}).get("text")
            return [self._chunk({"content": text})] if text else []
        if kind in ("tool-call-start", "tool-call-delta"):
            call = message.get("tool_calls") or {}
            function = call.get("function") or {}
            entry: dict[str, Any] = {"index": int(event.get("index", 0))}
            if kind == "tool-call-start":
                self._called_tools = True
                entry.update(
                    id=call.get("id"),
                    type="function",
                    function={
                        "name": function.get("name"),
                        "arguments": function.get("arguments") or "",
                    },
                )
            elif function.get("arguments"):
                entry["function"] = {"arguments": function["arguments"]}
            else:
                return []
            return [self._chunk({"tool_calls": [entry]})]
        if kind == "message-end":
            return self._end(event.get("delta") or {}, payload)
        return []  # content-end, tool-plan-delta, tool-call-end, citations, debug

    def _end(self, delta: Mapping[str, Any], payload: bytes) -> list[bytes]:
        if delta.get("error") or delta.get("finish_reason") == "ERROR":
            raise self._on_error(payload)
        self._done = True
        finish = cohere_finish(delta.get("finish_reason"), called_tools=self._called_tools)
        self.finish_reasons.append(finish)
        if delta.get("finish_reason") == "STOP_SEQUENCE":
            self.stop_sequence = ""
        self.usage = cohere_usage(delta.get("usage") or {})
        out = [self._chunk({}, finish)]
        if self._include_usage:
            out.append(
                usage_chunk(
                    response_id=self.response_id or "",
                    model=self.model or "",
                    created=self._created,
                    usage=self.usage,
                )
            )
        return out
