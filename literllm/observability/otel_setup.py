"""Install an OpenTelemetry SDK tracer provider from the standard `OTEL_*` variables.

The core only needs `opentelemetry-api`; `pip install 'literllm[otel]'` adds the SDK
and the OTLP exporter. `configure_tracing_from_env()` is called once at startup (the
`liter-llm` command does; a library user may call it or configure OpenTelemetry
themselves). It does nothing, and returns None, unless all of these hold:

* `OTEL_SDK_DISABLED` is not `true`;
* `OTEL_TRACES_EXPORTER` names exporters (`otlp`, `console`; `none` turns tracing
  export off), or, when it is unset, `OTEL_EXPORTER_OTLP_ENDPOINT` or
  `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set (meaning `otlp`);
* the SDK and the chosen exporter are installed (else a warning says what to install).

Then it builds a `TracerProvider` with one `BatchSpanProcessor` per exporter, makes it
the global provider (unless `set_global=False`) and returns it; call its
`shutdown()` on exit to flush. The OTLP protocol comes from
`OTEL_EXPORTER_OTLP_TRACES_PROTOCOL` or `OTEL_EXPORTER_OTLP_PROTOCOL`
(`http/protobuf`, the default, or `grpc`). Everything else (endpoint, headers,
timeout, compression, sampler `OTEL_TRACES_SAMPLER`, batch sizes `OTEL_BSP_*`,
resource `OTEL_SERVICE_NAME` / `OTEL_RESOURCE_ATTRIBUTES`) is read by the SDK itself.
`service.name` defaults to `liter-llm`.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

__all__ = ["DEFAULT_SERVICE_NAME", "configure_tracing_from_env", "exporter_names"]

DEFAULT_SERVICE_NAME = "liter-llm"
_INSTALL_HINT = "install it with: pip install 'literllm[otel]'"

_log = logging.getLogger(__name__)


def exporter_names(environ: Mapping[str, str]) -> list[str]:
    """The trace exporters the environment asks for (empty: none)."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return []
    configured = environ.get("OTEL_TRACES_EXPORTER", "").strip()
    if configured:
        names = [n.strip().lower() for n in configured.split(",") if n.strip()]
        return [] if "none" in names else names
    if environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or environ.get(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
    ):
        return ["otlp"]
    return []


def _otlp_exporter(environ: Mapping[str, str]) -> SpanExporter | None:
    protocol = (
        environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        or environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        or "http/protobuf"
    ).strip()
    modules = {
        "grpc": "opentelemetry.exporter.otlp.proto.grpc.trace_exporter",
        "http/protobuf": "opentelemetry.exporter.otlp.proto.http.trace_exporter",
    }
    module_name = modules.get(protocol)
    if module_name is not None:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            _log.warning("OTLP %s trace exporter is not installed; %s", protocol, _INSTALL_HINT)
            return None
        exporter: SpanExporter = module.OTLPSpanExporter()
        return exporter
    _log.warning("unsupported OTLP protocol %r; use http/protobuf or grpc", protocol)
    return None


def _exporters(names: list[str], environ: Mapping[str, str]) -> list[SpanExporter]:
    exporters: list[SpanExporter] = []
    for name in names:
        if name == "otlp":
            exporter = _otlp_exporter(environ)
            if exporter is not None:
                exporters.append(exporter)
        elif name == "console":
            from opentelemetry.sdk.trace.export import ConsoleSpanExporter

            exporters.append(ConsoleSpanExporter())
        else:
            _log.warning("unknown trace exporter %r in OTEL_TRACES_EXPORTER; skipped", name)
    return exporters


def configure_tracing_from_env(*, set_global: bool = True) -> TracerProvider | None:
    """Build (and by default install globally) a tracer provider as the `OTEL_*`
    variables describe; None when they ask for nothing or the packages are missing."""
    environ = os.environ
    names = exporter_names(environ)
    if not names:
        return None
    try:
        from opentelemetry import trace
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        _log.warning("OTEL_* tracing is configured but opentelemetry-sdk is missing; %s",
                     _INSTALL_HINT)  # fmt: skip
        return None
    exporters = _exporters(names, environ)
    if not exporters:
        return None
    named = "OTEL_SERVICE_NAME" in environ or "service.name=" in environ.get(
        "OTEL_RESOURCE_ATTRIBUTES", ""
    )
    resource = Resource.create({} if named else {"service.name": DEFAULT_SERVICE_NAME})
    provider = TracerProvider(resource=resource)
    for exporter in exporters:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    if set_global:
        trace.set_tracer_provider(provider)
    return provider
