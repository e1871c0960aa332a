"""`configure_tracing_from_env`: silent unless the OTEL_* variables ask for export."""

from __future__ import annotations

import logging

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

from literllm.observability.otel_setup import configure_tracing_from_env, exporter_names

OTEL_VARIABLES = (
    "OTEL_SDK_DISABLED",
    "OTEL_TRACES_EXPORTER",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    "OTEL_SERVICE_NAME",
    "OTEL_RESOURCE_ATTRIBUTES",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in OTEL_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def exporters_of(provider: TracerProvider) -> list[object]:
    processors = provider._active_span_processor._span_processors
    assert all(isinstance(p, BatchSpanProcessor) for p in processors)
    return [p.span_exporter for p in processors]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, []),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, ["otlp"]),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"}, ["otlp"]),
        ({"OTEL_TRACES_EXPORTER": "otlp, console"}, ["otlp", "console"]),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c"}, []),
        ({"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"}, []),
    ],
)
def test_exporter_names(environ: dict[str, str], expected: list[str]) -> None:
    assert exporter_names(environ) == expected


def test_nothing_configured_installs_nothing() -> None:
    assert configure_tracing_from_env(set_global=False) is None


def test_otlp_http_from_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    exporter_module = pytest.importorskip(
        "opentelemetry.exporter.otlp.proto.http.trace_exporter",
        reason="the otel extra (OTLP exporter) is not installed",
    )
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    provider = configure_tracing_from_env(set_global=False)
    assert provider is not None
    try:
        (exporter,) = exporters_of(provider)
        assert isinstance(exporter, exporter_module.OTLPSpanExporter)
        assert provider.resource.attributes["service.name"] == "liter-llm"
    finally:
        provider.shutdown()


def test_console_exporter_and_service_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "gateway-eu")
    provider = configure_tracing_from_env(set_global=False)
    assert provider is not None
    try:
        (exporter,) = exporters_of(provider)
        assert isinstance(exporter, ConsoleSpanExporter)
        assert provider.resource.attributes["service.name"] == "gateway-eu"
    finally:
        provider.shutdown()


def test_missing_exporter_package_warns_and_does_nothing(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    try:
        import opentelemetry.exporter.otlp.proto.grpc  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("the grpc exporter is installed here")
    with caplog.at_level(logging.WARNING, logger="literllm.observability.otel_setup"):
        assert configure_tracing_from_env(set_global=False) is None
    assert "literllm[otel]" in caplog.text


def test_unknown_exporter_is_skipped(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "zipkin")
    with caplog.at_level(logging.WARNING, logger="literllm.observability.otel_setup"):
        assert configure_tracing_from_env(set_global=False) is None
    assert "zipkin" in caplog.text
