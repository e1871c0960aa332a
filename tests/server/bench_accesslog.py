"""Per-request CPU cost of the observability building blocks (not collected by pytest).

Run: `.venv/bin/python tests/server/bench_accesslog.py`
"""

from __future__ import annotations

import functools
import io
import secrets
import timeit
from collections.abc import Callable

from opentelemetry.sdk.trace import TracerProvider

from literllm.observability.metrics import Metrics
from literllm.observability.redact import Redactor
from literllm.observability.telemetry import Telemetry
from literllm.types import Usage
from literllm_server.accesslog import AccessLog, AccessRecord

BODY = {
    "model": "gpt-4o",
    "messages": [{"role": "user", "content": "hello"}],
    "temperature": 0.2,
    "max_tokens": 64,
}
USAGE = Usage(prompt_tokens=120, completion_tokens=48, total_tokens=168, cached_tokens=64)
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
RECORD = AccessRecord(
    timestamp=1767268800.123, request_id="req-1", method="POST", path="/v1/chat/completions",
    status=200, latency_ms=812.4, key="Frontend team", model="gpt-4o", deployment="gpt-4o#0",
    tokens_in=120, tokens_out=48, cost=0.00078, cache="miss", route="pool",
)  # fmt: skip


class _NullStream(io.StringIO):
    def write(self, text: str) -> int:
        return len(text)


def tracing(telemetry: Telemetry) -> Callable[[], None]:
    def run() -> None:
        request = telemetry.start_request("chat", "gpt-4o", BODY, traceparent=TRACEPARENT)
        with request.attempt("openai", "openai/gpt-4o", "gpt-4o#0") as attempt:
            attempt.status_code(200)
        request.finish("gpt-4o-2024-08-06", "chatcmpl-1", ["stop"], USAGE, 0.00078)
        request.end()

    return run


def metrics_path(metrics: Metrics) -> Callable[[], None]:
    def run() -> None:
        metrics.request_started("gpt-4o")
        metrics.cache_miss("gpt-4o")
        metrics.observe_request(
            model="gpt-4o", deployment="gpt-4o#0", key="Frontend team", status=200,
            duration=0.8124, upstream=0.8120, usage=USAGE, cost=0.00078,
        )  # fmt: skip
        metrics.request_finished("gpt-4o")

    return run


def main() -> None:
    keys = [f"vk-{secrets.token_hex(16)}" for _ in range(100)]
    redactor = Redactor(keys)
    plain = AccessLog("plain", _NullStream(), redactor=redactor)
    json = AccessLog("json", _NullStream(), redactor=redactor)
    cases: dict[str, Callable[[], None]] = {
        "tracing off": tracing(Telemetry(False)),
        "tracing on, api only (no SDK)": tracing(Telemetry(True)),
        "tracing on, SDK, no exporter": tracing(Telemetry(True, TracerProvider())),
        "metrics (in-flight, cache miss, request)": metrics_path(
            Metrics(
                known_models=["gpt-4o"],
                known_deployments=["gpt-4o#0"],
                known_keys=["Frontend team"],
            )
        ),
        "access log, plain, scrubbed (100 keys)": plain.log,
        "access log, json, scrubbed (100 keys)": json.log,
        "access log, json, not scrubbed": AccessLog("json", _NullStream()).log,
        "access log, disabled": AccessLog("json", enabled=False).log,
    }
    number = 20_000
    for name, run in cases.items():
        call = functools.partial(run, RECORD) if name.startswith("access") else run
        best = min(timeit.repeat(call, number=number, repeat=5)) / number
        print(f"{name:45s} {best * 1e6:7.2f} us")


if __name__ == "__main__":
    main()
