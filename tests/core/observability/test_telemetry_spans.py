"""Spans as an OpenTelemetry SDK sees them, through an in-memory exporter."""

from __future__ import annotations

import msgspec
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from literllm.errors import RateLimitError, UpstreamError
from literllm.observability.telemetry import Telemetry, error_type_of
from literllm.types import Usage

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
BODY = {
    "model": "gpt-4o",
    "messages": [{"role": "user", "content": "the secret recipe"}],
    "temperature": 0.2,
    "top_p": 1,
    "max_tokens": 64,
    "stop": ["END"],
    "frequency_penalty": 0.5,
    "presence_penalty": 0,
    "seed": 7,
    "n": 2,
    "stream": False,
}


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


def make_telemetry(
    exporter: InMemorySpanExporter, *, enabled: bool = True, record_content: bool = False
) -> Telemetry:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return Telemetry(enabled, tracer_provider=provider, record_content=record_content)


def by_name(spans: tuple[ReadableSpan, ...], name: str) -> ReadableSpan:
    matches = [s for s in spans if s.name == name]
    assert len(matches) == 1, [s.name for s in spans]
    return matches[0]


def test_request_span_follows_genai_conventions(exporter: InMemorySpanExporter) -> None:
    telemetry = make_telemetry(exporter)
    with telemetry.start_request("chat", "gpt-4o", BODY) as request:
        with request.attempt("openai", "openai/gpt-4o-2024-08-06", "gpt-4o#0") as attempt:
            attempt.status_code(200)
        usage = Usage(
            prompt_tokens=100,
            completion_tokens=20,
            total_tokens=120,
            cached_tokens=60,
            cache_write_tokens=10,
            reasoning_tokens=5,
        )
        request.finish("gpt-4o-2024-08-06", "chatcmpl-1", ["stop", "length"], usage, 0.0125)

    spans = exporter.get_finished_spans()
    root = by_name(spans, "chat gpt-4o")
    assert root.kind is SpanKind.SERVER
    attrs = dict(root.attributes or {})
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.provider.name"] == "openai"
    assert attrs["gen_ai.request.model"] == "gpt-4o"
    assert attrs["gen_ai.request.temperature"] == 0.2
    assert attrs["gen_ai.request.top_p"] == 1.0
    assert attrs["gen_ai.request.max_tokens"] == 64
    assert attrs["gen_ai.request.stop_sequences"] == ("END",)
    assert attrs["gen_ai.request.frequency_penalty"] == 0.5
    assert attrs["gen_ai.request.presence_penalty"] == 0.0
    assert attrs["gen_ai.request.seed"] == 7
    assert attrs["gen_ai.request.choice.count"] == 2
    assert attrs["gen_ai.request.stream"] is False
    assert attrs["gen_ai.response.model"] == "gpt-4o-2024-08-06"
    assert attrs["gen_ai.response.id"] == "chatcmpl-1"
    assert attrs["gen_ai.response.finish_reasons"] == ("stop", "length")
    assert attrs["gen_ai.usage.input_tokens"] == 100
    assert attrs["gen_ai.usage.output_tokens"] == 20
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == 60
    assert attrs["gen_ai.usage.cache_creation.input_tokens"] == 10
    assert attrs["gen_ai.usage.reasoning.output_tokens"] == 5
    assert attrs["gen_ai.usage.cost"] == 0.0125
    assert "error.type" not in attrs
    assert root.status.status_code is StatusCode.UNSET


def test_attempts_are_children_and_retries_are_visible(exporter: InMemorySpanExporter) -> None:
    telemetry = make_telemetry(exporter)
    request = telemetry.start_request("chat", "smart", {"messages": []})
    with (
        pytest.raises(UpstreamError),
        request.attempt("openai", "openai/gpt-4o", "smart#0") as first,
    ):
        first.status_code(503)
        raise UpstreamError("overloaded", status=503, retryable=True)
    with request.attempt("anthropic", "anthropic/claude-sonnet-4", "backup#0", fallback=True):
        pass
    request.end()

    spans = exporter.get_finished_spans()
    root = by_name(spans, "chat smart")
    failed = by_name(spans, "chat gpt-4o")
    fallback = by_name(spans, "chat claude-sonnet-4")
    for child in (failed, fallback):
        assert child.kind is SpanKind.CLIENT
        assert child.parent is not None
        assert child.parent.span_id == root.context.span_id
        assert child.context.trace_id == root.context.trace_id
    assert failed.attributes is not None and fallback.attributes is not None
    assert failed.attributes["literllm.attempt"] == 1
    assert failed.attributes["gen_ai.provider.name"] == "openai"
    assert failed.attributes["gen_ai.request.model"] == "gpt-4o"
    assert failed.attributes["literllm.deployment"] == "smart#0"
    assert failed.attributes["error.type"] == "upstream_error"
    assert failed.attributes["http.response.status_code"] == 503
    assert failed.status.status_code is StatusCode.ERROR
    assert fallback.attributes["literllm.attempt"] == 2
    assert fallback.attributes["literllm.fallback"] is True
    assert fallback.status.status_code is StatusCode.UNSET
    # the request span names the provider that answered last
    assert root.attributes is not None
    assert root.attributes["gen_ai.provider.name"] == "anthropic"


def test_provider_names_use_the_conventions_values(exporter: InMemorySpanExporter) -> None:
    telemetry = make_telemetry(exporter)
    with telemetry.start_request("chat", "claude") as request:
        request.attempt("bedrock", "bedrock/anthropic.claude-v2", "claude#0").__exit__(
            None, None, None
        )
    spans = exporter.get_finished_spans()
    attempt = by_name(spans, "chat anthropic.claude-v2")
    assert attempt.attributes is not None
    assert attempt.attributes["gen_ai.provider.name"] == "aws.bedrock"
    assert attempt.attributes["literllm.provider"] == "bedrock"
    root = by_name(spans, "chat claude")
    assert root.attributes is not None
    assert root.attributes["gen_ai.provider.name"] == "aws.bedrock"


def test_failure_sets_error_type_and_status(exporter: InMemorySpanExporter) -> None:
    telemetry = make_telemetry(exporter)
    with (
        pytest.raises(RateLimitError),
        telemetry.start_request("embeddings", "text-embedding-3-small", {"input": "x"}),
    ):
        raise RateLimitError("key vk-secret-123 over its rpm")
    (span,) = exporter.get_finished_spans()
    assert span.name == "embeddings text-embedding-3-small"
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes is not None
    assert span.attributes["error.type"] == "rate_limit_error"
    assert span.attributes["http.response.status_code"] == 429
    # the message is never copied into the span
    assert "vk-secret-123" not in repr(span.to_json())


def test_error_type_of_plain_exceptions() -> None:
    assert error_type_of(TimeoutError()) == "TimeoutError"
    assert error_type_of(msgspec.DecodeError()) == "msgspec.DecodeError"


def test_traceparent_is_continued(exporter: InMemorySpanExporter) -> None:
    telemetry = make_telemetry(exporter)
    request = telemetry.start_request("chat", "gpt-4o", {}, traceparent=TRACEPARENT)
    request.attempt("openai", "openai/gpt-4o-mini", "mini#0").__exit__(None, None, None)
    request.end()
    spans = exporter.get_finished_spans()
    root = by_name(spans, "chat gpt-4o")
    assert format(root.context.trace_id, "032x") == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert root.parent is not None and root.parent.is_remote
    assert format(root.parent.span_id, "016x") == "00f067aa0ba902b7"
    assert all(s.context.trace_id == root.context.trace_id for s in spans)


def test_malformed_traceparent_starts_a_new_trace(exporter: InMemorySpanExporter) -> None:
    telemetry = make_telemetry(exporter)
    telemetry.start_request("chat", "gpt-4o", {}, traceparent="garbage").end()
    (span,) = exporter.get_finished_spans()
    assert span.parent is None


def test_content_is_not_recorded_by_default(exporter: InMemorySpanExporter) -> None:
    telemetry = make_telemetry(exporter)
    with telemetry.start_request("chat", "gpt-4o", BODY) as request:
        request.finish(response_body=b'{"choices":[{"message":{"content":"the answer"}}]}')
    dumped = "".join(s.to_json() for s in exporter.get_finished_spans())
    assert "secret recipe" not in dumped
    assert "the answer" not in dumped
    assert "gen_ai.input.messages" not in dumped


def test_content_is_recorded_when_opted_in(exporter: InMemorySpanExporter) -> None:
    telemetry = make_telemetry(exporter, record_content=True)
    with telemetry.start_request("chat", "gpt-4o", BODY) as request:
        request.finish(
            response_body=b'{"choices":[{"message":{"role":"assistant","content":"the answer"},'
            b'"finish_reason":"stop"}]}'
        )
    (span,) = exporter.get_finished_spans()
    assert span.attributes is not None
    messages = msgspec.json.decode(str(span.attributes["gen_ai.input.messages"]))
    assert messages == BODY["messages"]
    output = msgspec.json.decode(str(span.attributes["gen_ai.output.messages"]))
    assert output == [{"role": "assistant", "content": "the answer", "finish_reason": "stop"}]


def test_cache_hit_and_first_chunk_are_visible(exporter: InMemorySpanExporter) -> None:
    telemetry = make_telemetry(exporter)
    with telemetry.start_request("chat", "gpt-4o", {"stream": True}) as request:
        request.cache_hit()
        request.first_chunk(0.25)
    spans = exporter.get_finished_spans()
    root = by_name(spans, "chat gpt-4o")
    hit = by_name(spans, "cache_hit gpt-4o")
    assert hit.parent is not None and hit.parent.span_id == root.context.span_id
    assert root.attributes is not None
    assert root.attributes["literllm.storage.cache"] == "hit"
    assert root.attributes["gen_ai.response.time_to_first_chunk"] == 0.25
    assert root.attributes["gen_ai.request.stream"] is True


def test_end_is_idempotent(exporter: InMemorySpanExporter) -> None:
    telemetry = make_telemetry(exporter)
    request = telemetry.start_request("chat", "gpt-4o", {})
    request.end()
    request.end()
    assert len(exporter.get_finished_spans()) == 1


def test_disabled_records_nothing(exporter: InMemorySpanExporter) -> None:
    telemetry = make_telemetry(exporter, enabled=False)
    with telemetry.start_request("chat", "gpt-4o", BODY, traceparent=TRACEPARENT) as request:
        with request.attempt("openai", "openai/gpt-4o", "gpt-4o#0") as attempt:
            attempt.status_code(200)
        request.cache_hit()
        request.finish("gpt-4o", "id", ["stop"], Usage(prompt_tokens=1), 1.0)
        request.fail(RuntimeError())
    assert exporter.get_finished_spans() == ()


def test_enabled_without_sdk_is_harmless() -> None:
    # the api's default provider: spans are non-recording, nothing raises
    telemetry = Telemetry(True)
    with telemetry.start_request("chat", "gpt-4o", BODY, traceparent=TRACEPARENT) as request:
        with request.attempt("openai", "openai/gpt-4o", "gpt-4o#0"):
            pass
        request.finish("gpt-4o", "id", ["stop"], Usage(prompt_tokens=1), 1.0)
    assert not trace.get_current_span(request.span_context).is_recording()
    # without an SDK every request shares one disabled span: nothing is built per request
    assert telemetry.start_request("chat", "gpt-4o", BODY) is request


@pytest.mark.parametrize(
    "params",
    [
        {"max_tokens": 10, "max_completion_tokens": 20},
        {"max_completion_tokens": 20, "max_tokens": 10},
    ],
)
def test_max_completion_tokens_wins(exporter: InMemorySpanExporter, params: dict[str, int]) -> None:
    make_telemetry(exporter).start_request("chat", "gpt-4o", params).end()
    (span,) = exporter.get_finished_spans()
    assert span.attributes is not None
    assert span.attributes["gen_ai.request.max_tokens"] == 20


def test_ill_typed_params_are_ignored(exporter: InMemorySpanExporter) -> None:
    params = {"temperature": True, "seed": 1.5, "n": 1, "stop": [1], "stream": "yes", "top_p": None}
    make_telemetry(exporter).start_request("chat", "gpt-4o", params).end()
    (span,) = exporter.get_finished_spans()
    assert span.attributes is not None
    assert set(span.attributes) == {"gen_ai.operation.name", "gen_ai.request.model"}


def test_a_missing_sdk_is_looked_up_at_most_once_a_second(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from opentelemetry import trace

    import literllm.observability.telemetry as telemetry_module

    now = [1000.0]
    lookups: list[object] = []
    installed: list[trace.TracerProvider] = [trace.ProxyTracerProvider()]

    def get_tracer_provider() -> trace.TracerProvider:
        lookups.append(None)
        return installed[0]

    monkeypatch.setattr(telemetry_module.time, "monotonic", lambda: now[0])
    monkeypatch.setattr(trace, "get_tracer_provider", get_tracer_provider)
    telemetry = Telemetry(enabled=True)  # the global provider: none installed yet
    lookups.clear()  # building the tracer looked once
    disabled = telemetry.start_request("chat", "m")
    assert telemetry.start_request("chat", "m") is disabled and len(lookups) == 1
    installed[0] = TracerProvider()  # a host application installs the SDK
    now[0] += 0.5
    assert telemetry.start_request("chat", "m") is disabled and len(lookups) == 1
    now[0] += 0.6
    assert telemetry.start_request("chat", "m") is not disabled and len(lookups) == 2
    telemetry.start_request("chat", "m")
    assert len(lookups) == 2  # once installed, never looked up again
