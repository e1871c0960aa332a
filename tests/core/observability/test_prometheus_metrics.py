"""Metrics rendered, then parsed back with prometheus_client's own parser."""

from __future__ import annotations

from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from literllm.observability.metrics import Metrics, SpendCap
from literllm.types import Usage


def scrape(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    body, content_type = metrics.render()
    assert content_type.startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], metric: str, /,
          **labels: str) -> float:  # fmt: skip
    return samples[(metric, tuple(sorted(labels.items())))]


def make() -> Metrics:
    return Metrics(
        known_models=["gpt-4o", "claude"],
        known_deployments=["gpt-4o#0", "claude#0"],
        known_keys=["frontend", "master"],
    )


def test_request_counters_histograms_and_tokens() -> None:
    metrics = make()
    usage = Usage(
        prompt_tokens=100,
        completion_tokens=20,
        cached_tokens=60,
        cache_write_tokens=10,
        reasoning_tokens=5,
    )
    for _ in range(2):
        metrics.observe_request(
            model="gpt-4o", deployment="gpt-4o#0", key="frontend", status=200,
            duration=0.5, upstream=0.4992, usage=usage, cost=0.01,
        )  # fmt: skip
    metrics.observe_request(
        model="gpt-4o", deployment="-", key="frontend", status=429, duration=0.0002
    )
    s = scrape(metrics)
    base = {"model": "gpt-4o", "deployment": "gpt-4o#0", "key": "frontend"}
    assert value(s, "literllm_requests_total", **base, status="200") == 2
    assert value(s, "literllm_requests_total", **{**base, "deployment": "-"}, status="429") == 1
    assert value(s, "literllm_tokens_total", **base, kind="input") == 200
    assert value(s, "literllm_tokens_total", **base, kind="output") == 40
    assert value(s, "literllm_tokens_total", **base, kind="cached") == 120
    assert value(s, "literllm_tokens_total", **base, kind="cache_write") == 20
    assert value(s, "literllm_tokens_total", **base, kind="reasoning") == 10
    assert abs(value(s, "literllm_cost_usd_total", **base) - 0.02) < 1e-12
    assert value(s, "literllm_request_duration_seconds_count", model="gpt-4o") == 3
    assert value(s, "literllm_request_duration_seconds_bucket", model="gpt-4o", le="0.05") == 1
    upstream = {"model": "gpt-4o", "deployment": "gpt-4o#0"}
    assert value(s, "literllm_upstream_duration_seconds_count", **upstream) == 2
    # overhead: 2 x 0.8 ms (duration - upstream) and one 0.2 ms refusal
    assert value(s, "literllm_gateway_overhead_seconds_count") == 3
    assert value(s, "literllm_gateway_overhead_seconds_bucket", le="0.0005") == 1
    assert value(s, "literllm_gateway_overhead_seconds_bucket", le="0.001") == 3
    assert abs(value(s, "literllm_gateway_overhead_seconds_sum") - 0.0018) < 1e-9


def test_events_and_in_flight() -> None:
    metrics = make()
    metrics.request_started("gpt-4o")
    metrics.request_started("gpt-4o")
    metrics.request_finished("gpt-4o")
    metrics.time_to_first_token("claude", "claude#0", 0.3)
    metrics.cache_hit("gpt-4o")
    metrics.cache_miss("gpt-4o")
    metrics.cache_miss("gpt-4o")
    metrics.cache_error("gpt-4o")
    metrics.retry("gpt-4o", "gpt-4o#0")
    metrics.fallback("gpt-4o", "claude")
    metrics.cooldown("gpt-4o", "gpt-4o#0")
    metrics.rate_limit_refusal("frontend", "key", "rpm")
    metrics.budget_refusal("frontend", "global")
    s = scrape(metrics)
    assert value(s, "literllm_in_flight_requests", model="gpt-4o") == 1
    ttft = {"model": "claude", "deployment": "claude#0"}
    assert value(s, "literllm_time_to_first_token_seconds_count", **ttft) == 1
    assert value(s, "literllm_cache_lookups_total", model="gpt-4o", result="hit") == 1
    assert value(s, "literllm_cache_lookups_total", model="gpt-4o", result="miss") == 2
    assert value(s, "literllm_cache_lookups_total", model="gpt-4o", result="error") == 1
    assert value(s, "literllm_retries_total", model="gpt-4o", deployment="gpt-4o#0") == 1
    assert value(s, "literllm_fallbacks_total", model="gpt-4o", fallback="claude") == 1
    assert value(s, "literllm_cooldowns_total", model="gpt-4o", deployment="gpt-4o#0") == 1
    refusal = {"key": "frontend", "scope": "key", "limit": "rpm"}
    assert value(s, "literllm_rate_limit_refusals_total", **refusal) == 1
    assert value(s, "literllm_budget_refusals_total", key="frontend", scope="global") == 1


def test_spend_snapshot_is_replaced() -> None:
    metrics = make()
    metrics.update_spend(
        [
            SpendCap(scope="global", name="global", spent=12.5, limit=100.0),
            SpendCap(scope="key", name="frontend", spent=3.0, limit=5.0),
            SpendCap(scope="model", name="gpt-4o", spent=9.0),
        ]
    )
    s = scrape(metrics)
    assert value(s, "literllm_spend_usd", scope="global", name="global") == 12.5
    assert value(s, "literllm_spend_limit_usd", scope="global", name="global") == 100.0
    assert value(s, "literllm_spend_usd", scope="key", name="frontend") == 3.0
    assert value(s, "literllm_spend_usd", scope="model", name="gpt-4o") == 9.0
    assert ("literllm_spend_limit_usd", (("name", "gpt-4o"), ("scope", "model"))) not in s
    metrics.update_spend([SpendCap(scope="global", name="global", spent=13.0, limit=100.0)])
    s = scrape(metrics)
    assert value(s, "literllm_spend_usd", scope="global", name="global") == 13.0
    assert ("literllm_spend_usd", (("name", "frontend"), ("scope", "key"))) not in s


def test_labels_are_configured_names_or_other() -> None:
    metrics = make()
    for model in ("openai/a", "openai/b", "groq/d", "bare", "sk-secret-looking-model"):
        metrics.observe_request(model=model, deployment=model, key="stranger", status=200,
                                duration=0.1)  # fmt: skip
        metrics.retry(model, model)
        metrics.cache_miss(model)
        metrics.time_to_first_token(model, model, 0.1)
        metrics.request_started(model)
    metrics.observe_request(model="gpt-4o", deployment="gpt-4o#0", key="frontend", status=200,
                            duration=0.1)  # fmt: skip
    metrics.observe_request(model="-", deployment="-", key="-", status=401, duration=0.0)
    s = scrape(metrics)
    labels = {value for (_, pairs) in s for (name, value) in pairs
              if name in ("model", "deployment", "key")}  # fmt: skip
    assert labels == {"gpt-4o", "gpt-4o#0", "frontend", "other", "-"}
    assert value(s, "literllm_requests_total", model="other", deployment="other",
                 key="other", status="200") == 5  # fmt: skip
    assert value(s, "literllm_in_flight_requests", model="other") == 5


def test_registries_are_per_instance_and_not_global() -> None:
    first, second = make(), make()
    first.cache_hit("gpt-4o")
    assert ("literllm_cache_lookups_total", (("model", "gpt-4o"), ("result", "hit"))) in scrape(
        first
    )
    assert ("literllm_cache_lookups_total", (("model", "gpt-4o"), ("result", "hit"))) not in (
        scrape(second)
    )
    assert REGISTRY.get_sample_value("literllm_cache_lookups_total") is None


def test_openmetrics_when_asked() -> None:
    metrics = make()
    body, content_type = metrics.render("application/openmetrics-text; version=1.0.0")
    assert content_type.startswith("application/openmetrics-text")
    assert body.rstrip().endswith(b"# EOF")
