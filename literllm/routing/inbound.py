"""Requests that arrive in another protocol than chat completions, per attempt.

An `Inbound` decides, once the deployment of an attempt is known, whether the
client's body goes upstream natively (an Anthropic Messages body to an Anthropic
deployment, a Responses body to OpenAI) or is translated to chat completions for the
deployment's adapter and the answer translated back. Either way the exchange gets a
`ChatResult` whose body is in the client's protocol, and stream decoders whose output
is the client's SSE events, framed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Protocol

import msgspec

from ..protocols.anthropic_events import MessagesEventEncoder
from ..protocols.anthropic_messages import chat_to_message, messages_to_chat
from ..protocols.responses import (
    chat_to_output,
    native_history,
    response_object,
    responses_to_chat,
)
from ..protocols.responses_events import ResponsesEventEncoder
from ..providers import ChatResult, StreamDecoder, Target
from ..providers.anthropic import AnthropicAdapter
from ..providers.anthropic_native import NativeMessagesDecoder, native_request, native_result
from ..providers.base import Adapter
from ..providers.openai import OpenAIAdapter
from ..providers.openai_responses import (
    NativeResponsesDecoder,
    may_lack_responses,
    native_responses_request,
    native_responses_result,
    responses_source,
    serves_responses,
)
from ..types import UpstreamRequest, UpstreamResponse, Usage
from .router import Deployment, Router

__all__ = ["Inbound", "MessagesInbound", "ResponsesInbound", "TranslatedStream"]

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder()
_log = logging.getLogger("literllm.routing.inbound")


class EventEncoder(Protocol):
    usage: Usage | None

    def feed(self, chunk: Mapping[str, Any]) -> list[bytes]: ...

    def finish(self, usage: Usage | None = None, stop_sequence: str | None = None) -> list[bytes]:
        """The closing events; `stop_sequence` as `ChatResult.stop_sequence`."""


class Inbound(Protocol):
    cacheable: bool
    """Whether a stored answer may be replayed (not when each answer gets its own
    stored identity, as Responses do)."""
    defer_translation: bool
    """Set before a stream opens when stream hooks apply: a translated stream then
    hands on the provider's chat chunks and the hooks translate what they pass on."""
    opened: StreamDecoder | None
    """The decoder of the latest attempt (the stream's, once it opened)."""

    def begin(self, deployment: Deployment) -> None:
        """An attempt on `deployment` starts (before its first `request`)."""

    def request(self, adapter: Adapter, target: Target, *, stream: bool) -> UpstreamRequest: ...

    def retry(self, deployment: Deployment, target: Target, status: int) -> bool:
        """The upstream answered `status` (>= 400) before anything reached the client:
        whether to send the attempt again, as `request` now builds it (not a failure
        of the deployment)."""

    def result(self, adapter: Adapter, target: Target, response: UpstreamResponse) -> ChatResult:
        """Parse a 2xx answer; the result's body is in the client's protocol."""

    def decoder(self, adapter: Adapter, target: Target) -> StreamDecoder:
        """A decoder whose `feed` returns complete, framed SSE events of the client's
        protocol."""


class TranslatedStream:
    """A provider's chat chunks, re-encoded as another protocol's events.

    `deferred`: `feed`/`close` return the chat chunks untranslated, and whoever reads
    them (the stream hooks) calls `translate` on each chunk it passes on and `finish`
    at the end."""

    def __init__(
        self, inner: StreamDecoder, encoder: EventEncoder, *, deferred: bool = False
    ) -> None:
        self._inner = inner
        self._encoder = encoder
        self.deferred = deferred
        self.usage: Usage | None = None
        self.response_id: str | None = None
        self.model: str | None = None
        self.finish_reasons: list[str] = []

    def _sync(self) -> None:
        inner = self._inner
        self.usage = inner.usage
        self.response_id = inner.response_id
        self.model = inner.model
        self.finish_reasons = inner.finish_reasons

    def feed(self, data: bytes) -> list[bytes]:
        chunks = self._inner.feed(data)
        self._sync()
        if self.deferred:
            return chunks
        out: list[bytes] = []
        for chunk in chunks:
            out.extend(self._encoder.feed(_decode.decode(chunk)))
        return out

    def close(self) -> list[bytes]:
        chunks = self._inner.close()
        self._sync()
        if self.deferred:
            return chunks
        out: list[bytes] = []
        for chunk in chunks:
            out.extend(self._encoder.feed(_decode.decode(chunk)))
        out.extend(self._encoder.finish(self._inner.usage, self.stop_sequence()))
        return out

    def translate(self, chunk: Mapping[str, Any]) -> list[bytes]:
        """One decoded chat chunk as the client's events (deferred streams)."""
        return self._encoder.feed(chunk)

    def finish(self) -> list[bytes]:
        """The closing events (deferred streams), with the usage read so far."""
        return self._encoder.finish(self.usage, self.stop_sequence())

    def stop_sequence(self) -> str | None:
        """As `ChatResult.stop_sequence`, from decoders that can tell."""
        found: str | None = getattr(self._inner, "stop_sequence", None)
        return found


def _native(adapter: Adapter) -> AnthropicAdapter | None:
    return adapter if type(adapter) is AnthropicAdapter else None


class MessagesInbound:
    """`POST /v1/messages`: native to Anthropic, translated to everything else."""

    cacheable = True

    def __init__(
        self, body: dict[str, Any], headers: Mapping[str, str] | None, *, prompt_tokens: int = 0
    ) -> None:
        self.body = body
        self.headers = headers
        self.prompt_tokens = prompt_tokens
        self._chat: dict[str, Any] | None = None
        self.defer_translation = False
        self.opened: StreamDecoder | None = None

    def chat(self) -> dict[str, Any]:
        """The body as a chat request (translated once, on the first translated attempt)."""
        if self._chat is None:
            self._chat = messages_to_chat(self.body)
        return dict(self._chat)

    def begin(self, deployment: Deployment) -> None:
        return None

    def request(self, adapter: Adapter, target: Target, *, stream: bool) -> UpstreamRequest:
        native = _native(adapter)
        if native is not None:
            return native_request(native, target, self.body, self.headers)
        return adapter.chat_request(target, self.chat(), stream=stream)

    def retry(self, deployment: Deployment, target: Target, status: int) -> bool:
        return False

    def result(self, adapter: Adapter, target: Target, response: UpstreamResponse) -> ChatResult:
        native = _native(adapter)
        if native is not None:
            return native_result(native, target, response)
        chat = adapter.chat_response(target, response)
        message = chat_to_message(
            _decode.decode(chat.body),
            chat.usage,
            model=chat.model or target.model,
            stop_sequence=chat.stop_sequence,
            requested=self.body.get("stop_sequences"),
        )
        return ChatResult(
            body=_encode(message),
            usage=chat.usage,
            model=chat.model,
            response_id=chat.response_id,
            finish_reasons=chat.finish_reasons,
        )

    def decoder(self, adapter: Adapter, target: Target) -> StreamDecoder:
        native = _native(adapter)
        decoder: StreamDecoder
        if native is not None:
            decoder = NativeMessagesDecoder(native, target)
        else:
            encoder = MessagesEventEncoder(
                model=target.model,
                input_tokens=self.prompt_tokens,
                stop_sequences=self.body.get("stop_sequences"),
            )
            decoder = TranslatedStream(
                adapter.stream_decoder(target, include_usage=True),
                encoder,
                deferred=self.defer_translation,
            )
        self.opened = decoder
        return decoder


class ResponsesInbound:
    """`POST /v1/responses`: native to a deployment that serves the Responses API
    (OpenAI), translated to chat completions for every other.

    `body` is the request as hooks left it, its `input` led by the earlier turns'
    items (`history`, the stored conversation of `previous_response_id`). An upstream
    that stored that previous response itself (same provider, endpoint and credential:
    `previous_source`) gets `previous_response_id` and the new input only; any other
    native upstream gets the whole conversation as input. After the answer, `response`
    is the Response object and `source` who stored it upstream (None: nobody).

    Within one attempt (`retry`): an upstream that answers 404 to a passed
    `previous_response_id` (expired, or lost) gets the whole conversation instead; an
    `openai/...` upstream that is not OpenAI's own and answers 404 or 405 to
    `/responses` is asked again in chat completions, and `router` remembers for a
    while that it speaks only those."""

    cacheable = False

    def __init__(
        self,
        body: dict[str, Any],
        history: list[dict[str, Any]],
        *,
        previous_source: str | None,
        response_id: str,
        created_at: int,
        router: Router | None = None,
    ) -> None:
        self.body = body
        self.history = history
        self.previous_source = previous_source
        self.response_id = response_id
        self.created_at = created_at
        self.response: dict[str, Any] | None = None
        self.source: str | None = None
        self._chat: dict[str, Any] | None = None
        self._encoder: ResponsesEventEncoder | None = None
        self.defer_translation = False
        self.opened: StreamDecoder | None = None
        self._native: NativeResponsesDecoder | None = None
        self._router = router
        self._translate = False
        """This attempt goes translated whatever the deployment's provider."""
        self._passed_previous = False
        """This attempt's native request passed `previous_response_id` upstream."""
        self._previous_lost = False
        """The upstream that stored the previous response no longer has it."""

    def own_input(self) -> Any:
        """The request's own `input` (without the earlier turns' items)."""
        raw = self.body.get("input")
        if not self.history:
            return raw
        earlier = {id(item) for item in self.history}
        return [item for item in raw or () if id(item) not in earlier]

    def _earlier(self) -> list[dict[str, Any]]:
        if not self.history:
            return []
        earlier = {id(item) for item in self.history}
        return [item for item in self.body.get("input") or () if id(item) in earlier]

    def _native_body(self, target: Target) -> dict[str, Any]:
        body = self.body
        if not self.history:
            return body
        if (
            not self._previous_lost
            and self.previous_source is not None
            and self.previous_source == responses_source(target)
        ):
            own = self.own_input()
            if len(own) == 1 and own[0] == {
                "type": "message",
                "role": "user",
                "content": own[0].get("content"),
            }:
                own = own[0]["content"]  # as the client wrote it (see `with_history`)
            return {**body, "input": own}
        native = {k: v for k, v in body.items() if k != "previous_response_id"}
        native["input"] = [*native_history(self._earlier()), *self.own_input()]
        return native

    def chat(self) -> dict[str, Any]:
        """The request as chat completions (translated once, on the first translated
        attempt)."""
        if self._chat is None:
            body = {**self.body, "input": self.own_input()}
            body.pop("previous_response_id", None)
            self._chat = responses_to_chat(body, self._earlier())
        return dict(self._chat)

    def begin(self, deployment: Deployment) -> None:
        router = self._router
        self._translate = router is not None and not router.serves_responses(deployment)
        self._passed_previous = False

    def _native_adapter(self, adapter: Adapter, target: Target) -> OpenAIAdapter | None:
        return None if self._translate else _responses_native(adapter, target)

    def request(self, adapter: Adapter, target: Target, *, stream: bool) -> UpstreamRequest:
        native = self._native_adapter(adapter, target)
        if native is not None:
            body = self._native_body(target)
            self._passed_previous = bool(body.get("previous_response_id"))
            return native_responses_request(native, target, body)
        self._passed_previous = False
        return adapter.chat_request(target, self.chat(), stream=stream)

    def retry(self, deployment: Deployment, target: Target, status: int) -> bool:
        adapter = deployment.adapter
        if self._native_adapter(adapter, target) is None:
            return False
        if self._passed_previous:
            if status != 404:
                return False
            self._previous_lost = True
            _log.info(
                "deployment %s no longer has the previous response: the conversation is "
                "sent as input instead",
                deployment.label,
            )
            return True
        if status in (404, 405) and may_lack_responses(adapter, target):
            self._translate = True
            if self._router is not None:
                self._router.lacks_responses(deployment, status)
            return True
        return False

    def result(self, adapter: Adapter, target: Target, response: UpstreamResponse) -> ChatResult:
        native = self._native_adapter(adapter, target)
        if native is not None:
            result, self.response = native_responses_result(native, target, response)
            self.source = responses_source(target)
            return result
        self.source = None
        chat = adapter.chat_response(target, response)
        output, finish = chat_to_output(_decode.decode(chat.body))
        self.response = response_object(
            self.body,
            response_id=self.response_id,
            created_at=self.created_at,
            model=chat.model or target.model,
            status="completed",
            output=output,
            usage=chat.usage,
            finish_reason=finish,
        )
        return ChatResult(
            body=_encode(self.response),
            usage=chat.usage,
            model=chat.model,
            response_id=self.response_id,
            finish_reasons=chat.finish_reasons,
        )

    def decoder(self, adapter: Adapter, target: Target) -> StreamDecoder:
        native = self._native_adapter(adapter, target)
        if native is not None:
            self._encoder = None
            self._native = NativeResponsesDecoder(native, target)
            self.source = responses_source(target)
            self.opened = self._native
            return self._native
        self._native = None
        self.source = None
        self._encoder = ResponsesEventEncoder(
            self.body, response_id=self.response_id, created_at=self.created_at, model=target.model
        )
        inner = adapter.stream_decoder(target, include_usage=True)
        self.opened = TranslatedStream(inner, self._encoder, deferred=self.defer_translation)
        return self.opened

    @property
    def native_stream(self) -> bool:
        """Whether the stream that opened is relayed natively."""
        return self._native is not None

    def streamed_response(self) -> dict[str, Any] | None:
        """The final Response object of a stream that ran to its end."""
        if self._native is not None:
            return self._native.response
        return self._encoder.response if self._encoder is not None else None


def _responses_native(adapter: Adapter, target: Target) -> OpenAIAdapter | None:
    if isinstance(adapter, OpenAIAdapter) and serves_responses(adapter, target):
        return adapter
    return None
