"""An operation: one kind of request the gateway serves (`/v1/completions`, ...).

Chat and embeddings have their own paths through the adapters; every other endpoint is
an `Operation`. It validates the client's body, builds the upstream request for a
deployment (natively, translated, or refused with 400 when the provider does not offer
the endpoint), reads the answer back, and tells the price of what was served.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from ..errors import UpstreamError
from ..pricing import Pricing
from ..providers.base import Adapter, ChatResult, StreamDecoder, Target
from ..providers.openai import OpenAIAdapter
from ..types import UpstreamRequest, UpstreamResponse, Usage
from .catalog import Catalog, unsupported

__all__ = ["Operation", "OperationResult", "PassThrough", "openai_adapter", "peek_json", "usage_of"]

_encode = msgspec.json.Encoder().encode


class OperationResult(ChatResult, kw_only=True):
    """An operation's answer: the client's bytes, with their content type."""

    content_type: str = "application/json"
    cost: float | None = None
    """USD when the operation is priced by unit (images, seconds, pages); None: tokens."""


class _UsagePeek(msgspec.Struct):
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None


class _Peek(msgspec.Struct):
    id: str | None = None
    model: str | None = None
    usage: _UsagePeek | None = None


_peek = msgspec.json.Decoder(_Peek)


def openai_adapter(adapter: Adapter) -> OpenAIAdapter | None:
    """The adapter when it speaks OpenAI's wire format (OpenAI, Azure, the family)."""
    return adapter if isinstance(adapter, OpenAIAdapter) else None


def peek_json(target: Target, body: bytes) -> _Peek:
    try:
        return _peek.decode(body)
    except msgspec.DecodeError:
        raise UpstreamError(
            f"provider {target.provider!r} sent a response that is not valid JSON",
            status=502,
            retryable=True,
        ) from None


def usage_of(peek: _Peek) -> Usage | None:
    raw = peek.usage
    if raw is None:
        return None
    prompt = raw.prompt_tokens or 0
    completion = raw.completion_tokens or 0
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=raw.total_tokens or prompt + completion,
    )


class Operation:
    """Base: subclasses set the names and override what differs."""

    name = "operation"
    """The operation's name in spans, metrics and the cache key."""
    endpoint = "/v1/operation"
    """The client's path, for messages."""
    kind = "chat"
    """The endpoint kind in the provider catalog."""
    upstream_path = "/operation"
    cacheable = False

    def __init__(self, catalog: Catalog, pricing: Pricing) -> None:
        self.catalog = catalog
        self.pricing = pricing

    def validate(self, body: dict[str, Any]) -> None:
        """Raise `BadRequestError` for a body the gateway cannot serve."""

    def estimated_tokens(self, body: Mapping[str, Any]) -> int | None:
        """Prompt tokens the request may use, for rate limits before it is sent (None:
        the gateway's estimate from `prompt`, `input` or `messages`)."""
        return None

    def request(
        self, adapter: Adapter, target: Target, body: dict[str, Any], *, stream: bool
    ) -> UpstreamRequest:
        raise NotImplementedError

    def response(
        self, adapter: Adapter, target: Target, response: UpstreamResponse, body: dict[str, Any]
    ) -> OperationResult:
        raise NotImplementedError

    def stream_decoder(
        self, adapter: Adapter, target: Target, body: dict[str, Any], *, include_usage: bool
    ) -> StreamDecoder:
        raise unsupported(target.provider, self.endpoint + " streaming")

    def unit_cost(
        self, provider_model: str, body: Mapping[str, Any], result: OperationResult
    ) -> float | None:
        """USD when the model is priced by another unit than tokens; None: by tokens."""
        return None


class PassThrough(Operation):
    """A JSON endpoint OpenAI-compatible providers serve as-is (moderations, rerank,
    image generations): the body goes to `upstream_path`, the answer comes back as sent."""

    def request(
        self, adapter: Adapter, target: Target, body: dict[str, Any], *, stream: bool
    ) -> UpstreamRequest:
        native = openai_adapter(adapter)
        if native is None or not self.catalog.serves(target.provider, self.kind, target.model):
            raise unsupported(target.provider, self.endpoint)
        body["model"] = target.model
        return UpstreamRequest(
            "POST",
            native.url(target, self.upstream_path),
            native.headers(target),
            _encode(self.upstream_body(target, body)),
        )

    def upstream_body(self, target: Target, body: dict[str, Any]) -> dict[str, Any]:
        return body

    def response(
        self, adapter: Adapter, target: Target, response: UpstreamResponse, body: dict[str, Any]
    ) -> OperationResult:
        peek = peek_json(target, response.body)
        return OperationResult(
            body=response.body, usage=usage_of(peek), model=peek.model, response_id=peek.id
        )
