"""The OpenAI wire format, spoken by OpenAI and the whole OpenAI-compatible family.

Responses pass through byte for byte; the adapter only peeks at the fields the
gateway accounts (id, model, finish reasons, usage).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import msgspec

from ..errors import UpstreamError
from ..types import UpstreamRequest, UpstreamResponse, Usage
from .base import ChatResult, Credential, EmbeddingResult, Target
from .errormap import upstream_error
from .sse import SSEParser

__all__ = ["OpenAIAdapter", "OpenAIStreamDecoder", "usage_from_openai"]


class _PromptDetails(msgspec.Struct):
    cached_tokens: int | None = None
    cache_write_tokens: int | None = None


class _CompletionDetails(msgspec.Struct):
    reasoning_tokens: int | None = None


class _UsagePeek(msgspec.Struct):
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    prompt_tokens_details: _PromptDetails | None = None
    completion_tokens_details: _CompletionDetails | None = None


class _ChoicePeek(msgspec.Struct):
    finish_reason: str | None = None


class _ErrorPeek(msgspec.Struct):
    message: str | None = None
    type: str | None = None
    code: str | int | None = None
    param: str | None = None


class _ResponsePeek(msgspec.Struct):
    id: str | None = None
    model: str | None = None
    choices: list[_ChoicePeek] | None = None
    usage: _UsagePeek | None = None
    error: _ErrorPeek | str | None = None


class _ErrorBody(msgspec.Struct):
    error: _ErrorPeek | str | None = None
    message: str | None = None


_peek = msgspec.json.Decoder(_ResponsePeek)
# A non-null usage, a finish reason that is a string, or an error, in one scan.
_NEWS = re.compile(rb'"(?:usage"\s*:\s*[^n\s]|finish_reason"\s*:\s*"|error")').search
_peek_error = msgspec.json.Decoder(_ErrorBody)
_encode = msgspec.json.Encoder().encode


def usage_from_openai(raw: _UsagePeek | None) -> Usage | None:
    if raw is None:
        return None
    prompt = raw.prompt_tokens or 0
    completion = raw.completion_tokens or 0
    details = raw.prompt_tokens_details
    reasoning = raw.completion_tokens_details
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=raw.total_tokens or prompt + completion,
        cached_tokens=(details.cached_tokens or 0) if details else 0,
        cache_write_tokens=(details.cache_write_tokens or 0) if details else 0,
        reasoning_tokens=(reasoning.reasoning_tokens or 0) if reasoning else 0,
    )


class OpenAIAdapter:
    """OpenAI-compatible chat and embeddings.

    `auth` is `"bearer"` (Authorization header), `"api-key"` (Azure style) or `"none"`;
    `param_mappings` renames request fields for providers that spell them otherwise.
    """

    name = "openai"
    base64_embeddings = True
    default_base_url: str | None = None

    def credential(self, api_key: str | None) -> Credential:
        return Credential(api_key=api_key, required=self._auth != "none")

    def __init__(
        self, *, auth: str | None = "bearer", param_mappings: Mapping[str, str] | None = None
    ) -> None:
        self._auth = auth or "bearer"
        self._param_mappings = dict(param_mappings or {})

    def headers(self, target: Target) -> dict[str, str]:
        headers = {"content-type": "application/json"}
        if target.api_key:
            if self._auth == "api-key":
                headers["api-key"] = target.api_key
            else:
                headers["authorization"] = "Bearer " + target.api_key
        return headers

    def url(self, target: Target, path: str) -> str:
        return target.base_url.rstrip("/") + path

    def chat_request(
        self, target: Target, body: dict[str, Any], *, stream: bool
    ) -> UpstreamRequest:
        body["model"] = target.model
        if stream:
            body["stream"] = True
            options = body.get("stream_options")
            body["stream_options"] = (
                {**options, "include_usage": True}
                if isinstance(options, dict)
                else {"include_usage": True}
            )
        for ours, theirs in self._param_mappings.items():
            if ours in body and theirs not in body:
                body[theirs] = body.pop(ours)
        return UpstreamRequest(
            "POST", self.url(target, "/chat/completions"), self.headers(target), _encode(body)
        )

    def chat_response(self, target: Target, response: UpstreamResponse) -> ChatResult:
        try:
            peek = _peek.decode(response.body)
        except msgspec.DecodeError:
            raise UpstreamError(
                f"provider {target.provider!r} sent a response that is not valid JSON",
                status=502,
                retryable=True,
            ) from None
        if peek.error is not None:
            raise self.error(target, 500, response.headers, response.body)
        return ChatResult(
            body=response.body,
            usage=usage_from_openai(peek.usage),
            model=peek.model,
            response_id=peek.id,
            finish_reasons=[c.finish_reason for c in peek.choices or () if c.finish_reason],
        )

    def stream_decoder(self, target: Target, *, include_usage: bool) -> OpenAIStreamDecoder:
        return OpenAIStreamDecoder(self, target, include_usage=include_usage)

    def embeddings_request(self, target: Target, body: dict[str, Any]) -> UpstreamRequest:
        body["model"] = target.model
        return UpstreamRequest(
            "POST", self.url(target, "/embeddings"), self.headers(target), _encode(body)
        )

    def embeddings_response(self, target: Target, response: UpstreamResponse) -> EmbeddingResult:
        try:
            peek = _peek.decode(response.body)
        except msgspec.DecodeError:
            raise UpstreamError(
                f"provider {target.provider!r} sent a response that is not valid JSON",
                status=502,
                retryable=True,
            ) from None
        return EmbeddingResult(
            body=response.body, usage=usage_from_openai(peek.usage), model=peek.model
        )

    def error(
        self, target: Target, status: int, headers: Mapping[str, str], body: bytes
    ) -> UpstreamError:
        message: str | None = None
        code: str | None = None
        param: str | None = None
        try:
            parsed = _peek_error.decode(body)
        except msgspec.DecodeError:
            parsed = None
        if parsed is not None:
            if isinstance(parsed.error, _ErrorPeek):
                message = parsed.error.message
                code = None if parsed.error.code is None else str(parsed.error.code)
                param = parsed.error.param
            elif isinstance(parsed.error, str):
                message = parsed.error
            else:
                message = parsed.message
        elif body:
            message = body[:200].decode("utf-8", "replace").strip() or None
        if target.api_key and message and target.api_key in message:
            message = message.replace(target.api_key, "[redacted]")
        return upstream_error(target.provider, status, message, headers, code=code, param=param)


class OpenAIStreamDecoder:
    """Pass OpenAI SSE chunks through, peeking only at chunks that carry news."""

    def __init__(self, adapter: OpenAIAdapter, target: Target, *, include_usage: bool) -> None:
        self._adapter = adapter
        self._target = target
        self._include_usage = include_usage
        self._parser = SSEParser()
        self.usage: Usage | None = None
        self.response_id: str | None = None
        self.model: str | None = None
        self.finish_reasons: list[str] = []
        self.done = False

    def feed(self, data: bytes) -> list[bytes]:
        payloads = self._parser.payloads(data)
        if not payloads:
            return payloads
        # One scan of the whole batch finds the first chunk that may carry news; the
        # chunks before it pass without a look.
        news = _NEWS(b"\n".join(payloads))
        quiet_until = news.start() if news is not None else -1
        out: list[bytes] = []
        offset = 0
        for payload in payloads:
            offset += len(payload) + 1
            if payload == b"[DONE]":
                self.done = True
            elif not payload:
                continue
            elif self.response_id is None or (
                quiet_until >= 0 and offset > quiet_until and _carries_news(payload)
            ):
                if self._peek(payload):
                    out.append(payload)
            else:
                out.append(payload)
        return out

    def _peek(self, payload: bytes) -> bool:
        """Record what the chunk tells; return whether to pass it to the client."""
        try:
            chunk = _peek.decode(payload)
        except msgspec.DecodeError:
            raise UpstreamError(
                f"provider {self._target.provider!r} sent a stream chunk that is not valid JSON",
                status=502,
                retryable=False,
            ) from None
        if chunk.error is not None:
            raise self._adapter.error(self._target, 500, {}, payload)
        if self.response_id is None:
            self.response_id = chunk.id
            self.model = chunk.model
        for choice in chunk.choices or ():
            if choice.finish_reason:
                self.finish_reasons.append(choice.finish_reason)
        if chunk.usage is not None:
            self.usage = usage_from_openai(chunk.usage)
            if not chunk.choices and not self._include_usage:
                return False
        return True

    def close(self) -> list[bytes]:
        out: list[bytes] = []
        for event in self._parser.close():
            if event.data and event.data != b"[DONE]" and self._peek(event.data):
                out.append(event.data)
        return out


def _carries_news(payload: bytes) -> bool:
    """Cheap byte test: could this chunk hold usage, a finish reason or an error?"""
    return _NEWS(payload) is not None
