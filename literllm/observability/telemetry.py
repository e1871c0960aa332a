"""Tracing: one OpenTelemetry span per gateway request, one child span per upstream attempt.

The gateway depends on `opentelemetry-api` only. Until an SDK is installed and
configured (see `literllm.observability.otel_setup.configure_tracing_from_env`), the api hands out
non-recording spans and every call here costs a few attribute lookups.

Attributes follow the OpenTelemetry GenAI semantic conventions (development status,
checked against semantic-conventions-genai); docs/observability.md lists them all.

* the **request span** (kind `SERVER`: the gateway receives the client's call) is named
  `{operation} {request model}` (`chat gpt-4o`) and carries the operation, the request
  model and parameters, the provider of the last attempt, the response (model, id,
  finish reasons, time to first chunk), the usage (`gen_ai.usage.input_tokens`
  including cached tokens, `output_tokens`, `cache_read.input_tokens`,
  `cache_creation.input_tokens`, `reasoning.output_tokens`), our `gen_ai.usage.cost`
  and `error.type`;
* each **attempt span** (kind `CLIENT`: the gateway calls the provider) is named
  `{operation} {provider model id}` and carries `gen_ai.provider.name` (the
  conventions' well-known value where one exists: `bedrock` is `aws.bedrock`, our own
  name stays in `literllm.provider`),
  `gen_ai.request.model` (the id sent upstream), `literllm.deployment`,
  `literllm.attempt` (1-based) and `literllm.fallback`;
* a **cache hit** is a short `INTERNAL` child span `cache_hit {model}`, and the request
  span gets `literllm.storage.cache = "hit"`.

Message contents (`gen_ai.input.messages`, `gen_ai.output.messages`, JSON strings) are
recorded only when the `Telemetry` is built with `record_content=True`; the Proxy sets
it from `LITER_LLM_TRACE_CONTENT=1`. Error messages are not recorded either (an
upstream error may echo the prompt): a failed span gets status `ERROR` with the error
class as description, `error.type` and `http.response.status_code`.

Usage, from the Proxy::

    request = telemetry.start_request(operation="chat", request_model="gpt-4o",
                                      params=body, traceparent=headers.get("traceparent"))
    try:
        with request.attempt("openai", "openai/gpt-4o", "gpt-4o#0") as attempt:
            result = await send(...)      # an exception marks the attempt failed
        request.finish(result.model, result.response_id, result.finish_reasons,
                       result.usage, cost)
    except BaseException as exc:
        request.fail(exc)
        raise
    finally:
        request.end()                     # a stream calls end() when it is drained

`with telemetry.start_request(...) as request:` does the `fail`/`end` part itself.
Spans are not made current (no context attach): streams outlive the task that opened
them. `request.span_context` gives the parent for anything the caller wants nested.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from types import MappingProxyType, TracebackType
from typing import Any, Final, Literal

import msgspec
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from ..errors import LiterLLMError
from ..types import Usage

__all__ = ["AttemptSpan", "RequestSpan", "Telemetry", "error_type_of"]


Operation = Literal["chat", "embeddings"]

_TRACER_NAME: Final = "literllm"
_PROVIDER_NAMES: Final = MappingProxyType(
    {
        "vertex_ai": "gcp.vertex_ai",
        "gemini": "gcp.gemini",
        "bedrock": "aws.bedrock",
        "azure": "azure.ai.openai",
        "azure_ai": "azure.ai.inference",
        "mistral": "mistral_ai",
        "xai": "x_ai",
        "watsonx": "ibm.watsonx.ai",
    }
)
"""Our provider names whose well-known `gen_ai.provider.name` value differs."""
_PARAMS: Final = MappingProxyType(
    {
        "temperature": ("gen_ai.request.temperature", "float"),
        "top_p": ("gen_ai.request.top_p", "float"),
        "top_k": ("gen_ai.request.top_k", "float"),
        "frequency_penalty": ("gen_ai.request.frequency_penalty", "float"),
        "presence_penalty": ("gen_ai.request.presence_penalty", "float"),
        "max_completion_tokens": ("gen_ai.request.max_tokens", "int"),
        "max_tokens": ("gen_ai.request.max_tokens", "int"),
        "max_output_tokens": ("gen_ai.request.max_tokens", "int"),
        "seed": ("gen_ai.request.seed", "int"),
        "dimensions": ("gen_ai.embeddings.dimension.count", "int"),
        "n": ("gen_ai.request.choice.count", "count"),
        "stream": ("gen_ai.request.stream", "bool"),
        "stop": ("gen_ai.request.stop_sequences", "strings"),
        "encoding_format": ("gen_ai.request.encoding_formats", "strings"),
    }
)
"""Request body field -> (attribute, how the value is checked and converted)."""


def error_type_of(error: BaseException) -> str:
    """A low-cardinality `error.type`: the OpenAI error type for gateway errors
    (`rate_limit_error`, `timeout`, `upstream_error`...), else the qualified class name."""
    if isinstance(error, LiterLLMError):
        return error.error_type
    cls = type(error)
    return (
        cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
    )


def _mark_failed(span: trace.Span, error: BaseException) -> None:
    span.set_attribute("error.type", error_type_of(error))
    if isinstance(error, LiterLLMError):
        span.set_attribute("http.response.status_code", error.status)
    span.set_status(Status(StatusCode.ERROR, type(error).__name__))


def _request_attributes(
    operation: str, request_model: str, params: Mapping[str, Any], record_content: bool
) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": operation,
        "gen_ai.request.model": request_model,
    }
    for name, value in params.items():  # one pass over the few fields a body has
        known = _PARAMS.get(name)
        if known is None or value is None:
            continue
        attribute, kind = known
        if kind == "strings":
            if isinstance(value, str):
                attributes[attribute] = (value,)
            elif isinstance(value, list) and all(isinstance(s, str) for s in value):
                attributes[attribute] = tuple(value)
        elif kind == "bool":
            if isinstance(value, bool):
                attributes[attribute] = value
        elif isinstance(value, bool) or not isinstance(value, int | float):
            continue
        elif kind == "float":
            attributes[attribute] = float(value)
        elif not isinstance(value, int):
            continue
        elif kind == "int":
            # max_completion_tokens wins over the older max_tokens
            if name != "max_tokens" or attribute not in attributes:
                attributes[attribute] = value
        elif value != 1:  # count: only when not the default
            attributes[attribute] = value
    if record_content:
        content = params.get("messages", params.get("input"))
        if content is not None:
            attributes["gen_ai.input.messages"] = msgspec.json.encode(content).decode()
    return attributes


def _output_messages(response_body: bytes) -> str | None:
    try:
        decoded = msgspec.json.decode(response_body)
    except msgspec.DecodeError:
        return None
    if not isinstance(decoded, dict) or not isinstance(decoded.get("choices"), list):
        return None
    messages = [
        {**choice.get("message", {}), "finish_reason": choice.get("finish_reason")}
        for choice in decoded["choices"]
        if isinstance(choice, dict)
    ]
    return msgspec.json.encode(messages).decode()


class AttemptSpan:
    """One upstream attempt; a context manager that ends its span on exit and marks
    it failed when the block raises (the exception still propagates)."""

    __slots__ = ("_span",)

    def __init__(self, span: trace.Span) -> None:
        self._span = span

    def __enter__(self) -> AttemptSpan:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is not None and self._span.is_recording():
            _mark_failed(self._span, exc)
        self._span.end()

    def status_code(self, status: int) -> None:
        """Record the upstream HTTP status (`http.response.status_code`)."""
        if self._span.is_recording():
            self._span.set_attribute("http.response.status_code", status)

    def fail(self, error: BaseException) -> None:
        """Mark the attempt failed without raising through the `with` block."""
        if self._span.is_recording():
            _mark_failed(self._span, error)


_NO_ATTEMPT: Final = AttemptSpan(trace.INVALID_SPAN)
"""Stateless: the attempt handed out when the request span is not recording."""


class RequestSpan:
    """The span of one gateway request. Every method is safe to call more than once;
    `end()` ends the span once."""

    __slots__ = (
        "_attempts",
        "_context",
        "_ended",
        "_operation",
        "_record_content",
        "_request_model",
        "_span",
        "_tracer",
    )

    def __init__(
        self,
        tracer: trace.Tracer,
        span: trace.Span,
        operation: str,
        request_model: str,
        record_content: bool,
    ) -> None:
        self._tracer = tracer
        self._span = span
        self._operation = operation
        self._request_model = request_model
        self._record_content = record_content
        self._context: Context | None = None
        self._attempts = 0
        self._ended = False

    @property
    def span_context(self) -> Context:
        """An OpenTelemetry context whose current span is this request's span."""
        if self._context is None:
            self._context = trace.set_span_in_context(self._span)
        return self._context

    def __enter__(self) -> RequestSpan:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is not None:
            self.fail(exc)
        self.end()

    def attempt(
        self, provider: str, provider_model: str, deployment: str, *, fallback: bool = False
    ) -> AttemptSpan:
        """Open the child span of one upstream attempt. `provider` is the upstream's
        name (`openai`), `provider_model` what the config says (`openai/gpt-4o`),
        `deployment` the gateway's id for the pool member, `fallback` whether the
        attempt serves a fallback model."""
        self._attempts += 1
        if not self._span.is_recording():
            return _NO_ATTEMPT
        model_id = provider_model.partition("/")[2] or provider_model
        provider_name = _PROVIDER_NAMES.get(provider, provider)
        self._span.set_attribute("gen_ai.provider.name", provider_name)
        span = self._tracer.start_span(
            f"{self._operation} {model_id}",
            context=self.span_context,
            kind=SpanKind.CLIENT,
            attributes={
                "gen_ai.operation.name": self._operation,
                "gen_ai.provider.name": provider_name,
                "gen_ai.request.model": model_id,
                "literllm.provider": provider,
                "literllm.deployment": deployment,
                "literllm.attempt": self._attempts,
                "literllm.fallback": fallback,
            },
        )
        return AttemptSpan(span)

    def cache_hit(self) -> None:
        """The answer came from the gateway's response cache."""
        if not self._span.is_recording():
            return
        self._span.set_attribute("literllm.storage.cache", "hit")
        self._tracer.start_span(
            f"cache_hit {self._request_model}", context=self.span_context, kind=SpanKind.INTERNAL
        ).end()

    def first_chunk(self, seconds: float) -> None:
        """Time from the request to the first streamed chunk, in seconds."""
        if self._span.is_recording():
            self._span.set_attribute("gen_ai.response.time_to_first_chunk", seconds)

    def finish(
        self,
        response_model: str | None = None,
        response_id: str | None = None,
        finish_reasons: Sequence[str] = (),
        usage: Usage | None = None,
        cost: float | None = None,
        *,
        response_body: bytes | None = None,
    ) -> None:
        """Record the response. `cost` is set only when given (cost tracking on);
        `response_body` is read only when content recording is on."""
        span = self._span
        if not span.is_recording():
            return
        attributes: dict[str, Any] = {}
        if response_model:
            attributes["gen_ai.response.model"] = response_model
        if response_id:
            attributes["gen_ai.response.id"] = response_id
        if finish_reasons:
            attributes["gen_ai.response.finish_reasons"] = tuple(finish_reasons)
        if usage is not None:
            attributes["gen_ai.usage.input_tokens"] = usage.prompt_tokens
            attributes["gen_ai.usage.output_tokens"] = usage.completion_tokens
            if usage.cached_tokens:
                attributes["gen_ai.usage.cache_read.input_tokens"] = usage.cached_tokens
            if usage.cache_write_tokens:
                attributes["gen_ai.usage.cache_creation.input_tokens"] = usage.cache_write_tokens
            if usage.reasoning_tokens:
                attributes["gen_ai.usage.reasoning.output_tokens"] = usage.reasoning_tokens
        if cost is not None:
            attributes["gen_ai.usage.cost"] = cost
        if self._record_content and response_body is not None:
            output = _output_messages(response_body)
            if output is not None:
                attributes["gen_ai.output.messages"] = output
        span.set_attributes(attributes)

    def fail(self, error: BaseException) -> None:
        """Mark the request failed: status ERROR, `error.type`, HTTP status."""
        if self._span.is_recording():
            _mark_failed(self._span, error)

    def end(self) -> None:
        if not self._ended:
            self._ended = True
            self._span.end()


class _DisabledRequest(RequestSpan):
    """What `start_request` returns when tracing is off: nothing is recorded."""

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__(trace.NoOpTracer(), trace.INVALID_SPAN, "", "", False)

    def attempt(
        self, provider: str, provider_model: str, deployment: str, *, fallback: bool = False
    ) -> AttemptSpan:
        return _NO_ATTEMPT

    def end(self) -> None:
        return None


class Telemetry:
    """The tracer of one Proxy. `enabled` comes from `[general] enable_tracing`;
    `tracer_provider` defaults to the global one (set by `configure_tracing_from_env` or by
    the host application); `record_content` opts in to recording message contents."""

    __slots__ = (
        "_disabled",
        "_global_provider",
        "_propagator",
        "_recheck_at",
        "_tracer",
        "enabled",
        "record_content",
    )

    def __init__(
        self,
        enabled: bool,
        tracer_provider: trace.TracerProvider | None = None,
        record_content: bool = False,
    ) -> None:
        self.enabled = enabled
        self.record_content = record_content
        self._tracer = trace.get_tracer(_TRACER_NAME, tracer_provider=tracer_provider)
        self._global_provider = tracer_provider is None
        self._propagator = TraceContextTextMapPropagator()
        self._disabled = _DisabledRequest()
        self._recheck_at = 0.0

    def start_request(
        self,
        operation: Operation | str,
        request_model: str,
        params: Mapping[str, Any] | None = None,
        traceparent: str | None = None,
        tracestate: str | None = None,
    ) -> RequestSpan:
        """Open the request span, continuing the client's W3C trace when `traceparent`
        is valid. `params` is the decoded request body (read, never kept)."""
        if not self.enabled:
            return self._disabled
        if self._global_provider and self._no_sdk_yet():
            return self._disabled  # every span would be a no-op
        parent: Context | None = None
        if traceparent:
            carrier = {"traceparent": traceparent}
            if tracestate:
                carrier["tracestate"] = tracestate
            parent = self._propagator.extract(carrier)
        # attributes given at start cost the SDK a third of setting them afterwards
        span = self._tracer.start_span(
            f"{operation} {request_model}",
            context=parent,
            kind=SpanKind.SERVER,
            attributes=_request_attributes(
                operation, request_model, params or {}, self.record_content
            ),
        )
        return RequestSpan(self._tracer, span, operation, request_model, self.record_content)

    def _no_sdk_yet(self) -> bool:
        """Whether no SDK is installed globally. Looking costs an `os.environ` read, so
        a miss is remembered for a second; once installed, the global provider stays."""
        if self._recheck_at < 0:
            return False
        now = time.monotonic()
        if now < self._recheck_at:
            return True
        if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
            self._recheck_at = now + 1.0
            return True
        self._recheck_at = -1.0
        return False
