"""OpenAI Responses passed through: the client's own `/v1/responses` body to an upstream
that serves the Responses API itself.

Used for inbound `/v1/responses` routed to an OpenAI deployment (or Azure's v1 API):
the body goes upstream as the client wrote it except for `model` (and the conversation
items the gateway adds for `previous_response_id`), and the answer (JSON or every
event) comes back untouched. Only the id, model, status and usage are read, for
accounting and for the gateway's own store of responses. The upstream is untrusted:
its answer must be a JSON object (each event one), and a stream must end with a
terminal event.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import msgspec

from ..errors import UpstreamError
from ..types import UpstreamRequest, UpstreamResponse, Usage
from .azure import AzureAdapter
from .base import Adapter, ChatResult, Target
from .openai import OpenAIAdapter
from .openai_shape import decode_json

__all__ = [
    "NativeResponsesDecoder",
    "may_lack_responses",
    "native_responses_request",
    "native_responses_result",
    "responses_source",
    "responses_usage",
    "serves_responses",
]

_encode = msgspec.json.Encoder().encode
_MAX_EVENT = 16 * 1024 * 1024
_TERMINAL = frozenset({"response.completed", "response.incomplete", "response.failed"})


class _InputDetails(msgspec.Struct):
    cached_tokens: int | None = None


class _OutputDetails(msgspec.Struct):
    reasoning_tokens: int | None = None


class _UsagePeek(msgspec.Struct):
    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    input_tokens_details: _InputDetails | None = None
    output_tokens_details: _OutputDetails | None = None


class _ResponsePeek(msgspec.Struct):
    id: str | None = None
    model: str | None = None
    status: str | None = None
    usage: _UsagePeek | None = None


class _EventPeek(msgspec.Struct):
    type: str | None = None
    response: _ResponsePeek | None = None


_peek_event = msgspec.json.Decoder(_EventPeek)


def serves_responses(adapter: Adapter, target: Target) -> bool:
    """Whether `target` answers `/responses` itself: OpenAI (`openai/...`, any
    `base_url`), and Azure OpenAI through its v1 API (a `base_url` ending in
    `/openai/v1`). OpenAI-compatible providers are not assumed to."""
    if type(adapter) is OpenAIAdapter:
        return target.provider == "openai"
    if type(adapter) is AzureAdapter:
        return target.base_url.split("?", 1)[0].rstrip("/").endswith("/openai/v1")
    return False


def may_lack_responses(adapter: Adapter, target: Target) -> bool:
    """Whether a 404 or 405 to `POST .../responses` may mean that `target` speaks only
    chat completions: an `openai/...` deployment whose `base_url` is not OpenAI's own
    (an older vLLM, a local model server, a company proxy)."""
    if type(adapter) is not OpenAIAdapter or target.provider != "openai":
        return False
    return (urlsplit(target.base_url).hostname or "").lower() != "api.openai.com"


def responses_source(target: Target) -> str:
    """Who stored a native response upstream (provider, endpoint and credential), as a
    digest: a later turn passes `previous_response_id` through only to the same one."""
    seed = "\0".join((target.provider, target.base_url.rstrip("/"), target.api_key or ""))
    return hashlib.sha256(seed.encode()).hexdigest()[:32]


def native_responses_request(
    adapter: OpenAIAdapter, target: Target, body: Mapping[str, Any]
) -> UpstreamRequest:
    native = dict(body)
    native["model"] = target.model
    url = adapter.url(target, "/responses")
    if type(adapter) is AzureAdapter:
        url = target.base_url.split("?", 1)[0].rstrip("/") + "/responses"
    return UpstreamRequest("POST", url, adapter.headers(target), _encode(native))


def responses_usage(raw: _UsagePeek | None) -> Usage | None:
    if raw is None:
        return None
    prompt = max(raw.input_tokens or 0, 0)
    completion = max(raw.output_tokens or 0, 0)
    cached = raw.input_tokens_details.cached_tokens if raw.input_tokens_details else None
    reasoning = raw.output_tokens_details.reasoning_tokens if raw.output_tokens_details else None
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=max(raw.total_tokens or 0, 0) or prompt + completion,
        cached_tokens=min(max(cached or 0, 0), prompt),
        reasoning_tokens=max(reasoning or 0, 0),
    )


def _finish_reason(response: Mapping[str, Any]) -> str:
    status = response.get("status")
    if status == "incomplete":
        details = response.get("incomplete_details")
        reason = details.get("reason") if isinstance(details, dict) else None
        return "content_filter" if reason == "content_filter" else "length"
    output = response.get("output")
    if isinstance(output, list) and any(
        isinstance(i, dict) and i.get("type") == "function_call" for i in output
    ):
        return "tool_calls"
    return "stop"


def _peek(target: Target, response: Mapping[str, Any]) -> _ResponsePeek:
    try:
        return msgspec.convert(response, _ResponsePeek)
    except msgspec.ValidationError:
        raise UpstreamError(
            f"provider {target.provider!r} sent a Response whose id, model, status or "
            "usage has the wrong type",
            status=502,
            retryable=True,
        ) from None


def native_responses_result(
    adapter: OpenAIAdapter, target: Target, response: UpstreamResponse
) -> tuple[ChatResult, dict[str, Any]]:
    """The answer as the client gets it (its bytes unchanged) and decoded (to store)."""
    raw = decode_json(target, response.body)
    if not isinstance(raw, dict) or raw.get("object", "response") != "response":
        raise UpstreamError(
            f"provider {target.provider!r} sent something other than a Response object",
            status=502,
            retryable=True,
        )
    if raw.get("error") or raw.get("status") == "failed":
        raise adapter.error(target, 500, response.headers, _encode({"error": raw.get("error")}))
    peek = _peek(target, raw)
    result = ChatResult(
        body=response.body,
        usage=responses_usage(peek.usage),
        model=peek.model or target.model,
        response_id=peek.id,
        finish_reasons=[_finish_reason(raw)],
    )
    return result, raw


class NativeResponsesDecoder:
    """Hands on each complete SSE event as received, reading the final Response (for
    usage and the store) from the terminal event.

    An `error` event is raised as the adapter's `UpstreamError` (so a failure before the
    first event can fail over); the server writes it back as a Responses `error` event.
    """

    def __init__(self, adapter: OpenAIAdapter, target: Target) -> None:
        self._adapter = adapter
        self._target = target
        self._buffer = b""
        self._done = False
        self.usage: Usage | None = None
        self.response_id: str | None = None
        self.model: str | None = None
        self.finish_reasons: list[str] = []
        self.response: dict[str, Any] | None = None
        """The terminal event's Response object (None until it arrived)."""

    def feed(self, data: bytes) -> list[bytes]:
        buffer = self._buffer + data
        if b"\r" in buffer:
            buffer = buffer.replace(b"\r\n", b"\n")
        end = buffer.rfind(b"\n\n")
        if end < 0:
            if len(buffer) > _MAX_EVENT:
                raise UpstreamError(
                    f"provider {self._target.provider!r} sent a stream event larger than 16 MiB",
                    status=502,
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
        if not data or data == b"[DONE]":
            return
        try:
            event = _peek_event.decode(data)
        except msgspec.DecodeError:
            raise UpstreamError(
                f"provider {self._target.provider!r} sent a stream event that is not a "
                "valid Responses event",
                status=502,
            ) from None
        kind = event.type
        if kind == "error":
            raise self._adapter.error(self._target, 500, {}, _encode({"error": _decode(data)}))
        peek = event.response
        if peek is None:
            return
        if self.response_id is None and peek.id:
            self.response_id = peek.id
            self.model = peek.model
        if kind in _TERMINAL:
            self._done = True
            response = decode_json(self._target, data, "a stream event")["response"]
            if isinstance(response, dict):
                self.response = response
                self.finish_reasons = [_finish_reason(response)]
            self.usage = responses_usage(peek.usage)
            self.model = peek.model or self.model

    def close(self) -> list[bytes]:
        tail = self.feed(b"\n\n") if self._buffer.strip() else []
        if not self._done:
            raise UpstreamError(
                f"provider {self._target.provider!r} ended the stream before response.completed",
                status=502,
                code="stream_truncated",
            )
        return tail


def _decode(data: bytes) -> Any:
    try:
        return msgspec.json.decode(data)
    except msgspec.DecodeError:
        return None
