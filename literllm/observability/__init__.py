"""Tracing (OpenTelemetry GenAI spans), Prometheus metrics, and secret redaction."""
