"""Anthropic Messages passed through: the client's own body to an Anthropic upstream.

Used for inbound `/v1/messages` routed to an Anthropic deployment: the body goes
upstream as the client wrote it except for the model id, and the answer (JSON or
events) comes back untouched, so thinking signatures, `cache_control`, citations and
server tools survive. Only usage, id, model and stop reason are read, for accounting.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from ..errors import UpstreamError
from ..types import UpstreamRequest, UpstreamResponse, Usage
from .anthropic import AnthropicAdapter
from .anthropic_stream import anthropic_usage, finish_reason
from .base import ChatResult, Target
from .openai_shape import decode_json

__all__ = ["FORWARDED_HEADERS", "NativeMessagesDecoder", "native_request", "native_result"]

FORWARDED_HEADERS = ("anthropic-version", "anthropic-beta")
"""Client headers an Anthropic upstream receives as sent."""

_encode = msgspec.json.Encoder().encode
_MAX_EVENT = 16 * 1024 * 1024


def native_request(
    adapter: AnthropicAdapter,
    target: Target,
    body: Mapping[str, Any],
    client_headers: Mapping[str, str] | None,
    *,
    path: str = "/messages",
) -> UpstreamRequest:
    native = dict(body)
    native["model"] = target.model
    headers = adapter.headers(target)
    if client_headers:
        for name in FORWARDED_HEADERS:
            value = client_headers.get(name)
            if value:
                headers[name] = value
    return UpstreamRequest("POST", target.base_url.rstrip("/") + path, headers, _encode(native))


def native_result(
    adapter: AnthropicAdapter, target: Target, response: UpstreamResponse
) -> ChatResult:
    raw = decode_json(target, response.body)
    if not isinstance(raw, dict) or raw.get("type") == "error":
        raise adapter.error(target, response.status, response.headers, response.body)
    finish = finish_reason(raw.get("stop_reason"))
    return ChatResult(
        body=response.body,
        usage=anthropic_usage(raw.get("usage") or {}),
        model=raw.get("model") or target.model,
        response_id=raw.get("id"),
        finish_reasons=[finish],
    )


class NativeMessagesDecoder:
    """Hands on each complete SSE event as received, reading usage on the way.

    An `error` event is raised as the adapter's `UpstreamError` (so a failure before
    the first event can fail over); the server writes it back in Anthropic's shape.
    """

    def __init__(self, adapter: AnthropicAdapter, target: Target) -> None:
        self._adapter = adapter
        self._target = target
        self._buffer = b""
        self._raw_usage: dict[str, Any] = {}
        self._done = False
        self.usage: Usage | None = None
        self.response_id: str | None = None
        self.model: str | None = None
        self.finish_reasons: list[str] = []

    def feed(self, data: bytes) -> list[bytes]:
        buffer = self._buffer + data
        if b"\r" in buffer:
            buffer = buffer.replace(b"\r\n", b"\n")
        end = buffer.rfind(b"\n\n")
        if end < 0:
            if len(buffer) > _MAX_EVENT:
                raise UpstreamError(
                    "provider 'anthropic' sent a stream event larger than 16 MiB", status=502
                )
            self._buffer = buffer
            return []
        complete, self._buffer = buffer[: end + 2], buffer[end + 2 :]
        out: list[bytes] = []
        for block in complete.split(b"\n\n"):
            if block.strip():
                self._read(block)
                out.append(block + b"\n\n")
        return out

    def _read(self, block: bytes) -> None:
        data = b"".join(
            line[5:].lstrip(b" ") for line in block.split(b"\n") if line.startswith(b"data:")
        )
        if not data:
            return
        event = decode_json(self._target, data, "a stream event")
        kind = event.get("type") if isinstance(event, dict) else None
        if kind == "message_start":
            message = event.get("message") or {}
            self.response_id = message.get("id")
            self.model = message.get("model")
            self._usage(message.get("usage"))
        elif kind == "message_delta":
            self._usage(event.get("usage"))
            reason = (event.get("delta") or {}).get("stop_reason")
            if reason:
                self.finish_reasons.append(finish_reason(reason))
        elif kind == "message_stop":
            self._done = True
        elif kind == "error":
            raise self._adapter.error(self._target, 200, {}, data)

    def _usage(self, raw: Any) -> None:
        if isinstance(raw, dict) and raw:
            self._raw_usage.update({k: v for k, v in raw.items() if v is not None})
            self.usage = anthropic_usage(self._raw_usage)

    def close(self) -> list[bytes]:
        tail = self.feed(b"\n\n") if self._buffer.strip() else []
        if not self._done:
            raise UpstreamError(
                "provider 'anthropic' ended the stream before message_stop",
                status=502,
                code="stream_truncated",
            )
        return tail
