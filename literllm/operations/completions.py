"""`/v1/completions`: legacy text completions, natively or through chat.

Providers that serve `/completions` get the body as sent. For every other provider the
prompt becomes one user message of a chat completion and the answer is turned back
into a `text_completion`; what chat cannot honour (`echo`, `logprobs`, `suffix`,
`best_of` > 1, several prompts, token-id prompts) is refused with 400.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import msgspec

from ..errors import BadRequestError
from ..providers.base import Adapter, StreamDecoder, Target
from ..providers.openai import OpenAIStreamDecoder
from ..types import UpstreamRequest, UpstreamResponse, Usage
from .base import Operation, OperationResult, openai_adapter, peek_json, usage_of
from .catalog import unsupported

__all__ = ["Completions", "TranslatedStreamDecoder", "chat_body", "text_completion"]

_encode = msgspec.json.Encoder().encode

# Fields a chat completion understands with the same meaning.
_SHARED = (
    "max_tokens",
    "temperature",
    "top_p",
    "n",
    "stop",
    "presence_penalty",
    "frequency_penalty",
    "seed",
    "user",
    "logit_bias",
    "stream",
    "stream_options",
    "metadata",
    "service_tier",
)
_FINISH = {"stop": "stop", "length": "length", "content_filter": "content_filter"}


class _StreamOptions(msgspec.Struct):
    include_usage: bool | None = None


class _Shape(msgspec.Struct):
    model: str
    prompt: str | list[str | int | list[int]]
    stream: bool | None = None
    stream_options: _StreamOptions | None = None
    max_tokens: int | None = None
    n: int | None = None
    best_of: int | None = None
    echo: bool | None = None
    logprobs: int | None = None
    suffix: str | None = None
    temperature: float | None = None
    top_p: float | None = None


def _check_shape(body: dict[str, Any]) -> None:
    from ..requests import check_shape

    check_shape(body, _Shape)


class Completions(Operation):
    name = "text_completion"
    endpoint = "/v1/completions"
    kind = "completion"
    upstream_path = "/completions"

    def validate(self, body: dict[str, Any]) -> None:
        _check_shape(body)
        if not body["model"]:
            raise BadRequestError("'model' must not be empty", param="model", code="invalid_value")
        if body["prompt"] in ("", []):
            raise BadRequestError(
                "'prompt' must not be empty", param="prompt", code="invalid_value"
            )
        for name in ("max_tokens", "n", "best_of"):
            value = body.get(name)
            if value is not None and value < (0 if name == "max_tokens" else 1):
                raise BadRequestError(f"'{name}' is out of range", param=name, code="invalid_value")

    def native(self, adapter: Adapter, target: Target) -> bool:
        return openai_adapter(adapter) is not None and self.catalog.serves(
            target.provider, self.kind, target.model
        )

    def request(
        self, adapter: Adapter, target: Target, body: dict[str, Any], *, stream: bool
    ) -> UpstreamRequest:
        native = openai_adapter(adapter)
        if native is not None and self.native(adapter, target):
            body["model"] = target.model
            if stream:
                body["stream"] = True
                options = body.get("stream_options")
                body["stream_options"] = {
                    **(options if isinstance(options, dict) else {}),
                    "include_usage": True,
                }
            return UpstreamRequest(
                "POST",
                native.url(target, self.upstream_path),
                native.headers(target),
                _encode(body),
            )
        if not self.catalog.chats(target.provider):
            raise unsupported(target.provider, self.endpoint)
        return adapter.chat_request(target, chat_body(target.provider, body), stream=stream)

    def response(
        self, adapter: Adapter, target: Target, response: UpstreamResponse, body: dict[str, Any]
    ) -> OperationResult:
        if self.native(adapter, target):
            peek = peek_json(target, response.body)
            return OperationResult(
                body=response.body, usage=usage_of(peek), model=peek.model, response_id=peek.id
            )
        chat = adapter.chat_response(target, response)
        answer = text_completion(msgspec.json.decode(chat.body))
        return OperationResult(
            body=_encode(answer),
            usage=chat.usage,
            model=chat.model,
            response_id=chat.response_id,
            finish_reasons=chat.finish_reasons,
        )

    def stream_decoder(
        self, adapter: Adapter, target: Target, body: dict[str, Any], *, include_usage: bool
    ) -> StreamDecoder:
        native = openai_adapter(adapter)
        if native is not None and self.native(adapter, target):
            return OpenAIStreamDecoder(native, target, include_usage=include_usage)
        return TranslatedStreamDecoder(adapter.stream_decoder(target, include_usage=include_usage))


def chat_body(provider: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """The chat request that serves a text completion (400 for what chat cannot do)."""

    def refuse(param: str, why: str) -> BadRequestError:
        return BadRequestError(
            f"'{param}' {why} for provider {provider!r}, which serves text completions "
            "through chat; route this model to a provider that serves /v1/completions",
            param=param,
            code="unsupported_parameter",
        )

    if body.get("echo"):
        raise refuse("echo", "cannot be honoured")
    if body.get("logprobs") is not None:
        raise refuse("logprobs", "cannot be honoured")
    if body.get("suffix") is not None:
        raise refuse("suffix", "cannot be honoured")
    best_of = body.get("best_of")
    if isinstance(best_of, int) and best_of > 1:
        raise refuse("best_of", "above 1 cannot be honoured")
    prompt = body["prompt"]
    if isinstance(prompt, list):
        if len(prompt) != 1 or not isinstance(prompt[0], str):
            raise refuse("prompt", "must be one string (not several prompts or token ids)")
        prompt = prompt[0]
    chat: dict[str, Any] = {
        "model": body["model"],
        "messages": [{"role": "user", "content": prompt}],
    }
    for name in _SHARED:
        if body.get(name) is not None:
            chat[name] = body[name]
    return chat


def _finish(reason: Any) -> str | None:
    if reason is None:
        return None
    return _FINISH.get(str(reason), "stop")


def text_completion(chat: Mapping[str, Any]) -> dict[str, Any]:
    """A chat completion (or chunk) in the shape of a text completion."""
    choices = []
    for choice in chat.get("choices") or ():
        message = choice.get("message") or choice.get("delta") or {}
        content = message.get("content")
        choices.append(
            {
                "text": content if isinstance(content, str) else "",
                "index": choice.get("index", 0),
                "logprobs": None,
                "finish_reason": _finish(choice.get("finish_reason")),
            }
        )
    answer: dict[str, Any] = {
        "id": str(chat.get("id") or ""),
        "object": "text_completion",
        "created": chat.get("created") or int(time.time()),
        "model": str(chat.get("model") or ""),
        "choices": choices,
    }
    if chat.get("system_fingerprint"):
        answer["system_fingerprint"] = chat["system_fingerprint"]
    usage = chat.get("usage")
    if isinstance(usage, dict):
        answer["usage"] = {
            "prompt_tokens": usage.get("prompt_tokens") or 0,
            "completion_tokens": usage.get("completion_tokens") or 0,
            "total_tokens": usage.get("total_tokens") or 0,
        }
    return answer


class TranslatedStreamDecoder:
    """Chat chunks from the provider's own decoder, as text completion chunks."""

    def __init__(self, chat: StreamDecoder) -> None:
        self._chat = chat
        self.usage: Usage | None = None
        self.response_id: str | None = None
        self.model: str | None = None
        self.finish_reasons: list[str] = []

    def feed(self, data: bytes) -> list[bytes]:
        return self._sync(self._convert(self._chat.feed(data)))

    def close(self) -> list[bytes]:
        return self._sync(self._convert(self._chat.close()))

    def _sync(self, out: list[bytes]) -> list[bytes]:
        chat = self._chat
        self.usage = chat.usage
        self.response_id = chat.response_id
        self.model = chat.model
        self.finish_reasons = chat.finish_reasons
        return out

    @staticmethod
    def _convert(payloads: list[bytes]) -> list[bytes]:
        out = []
        for payload in payloads:
            chunk = msgspec.json.decode(payload)
            answer = text_completion(chunk)
            # A role-only opening delta carries nothing a text completion shows.
            if answer["choices"] and all(
                not c["text"] and c["finish_reason"] is None for c in answer["choices"]
            ):
                continue
            out.append(_encode(answer))
        return out
