"""Prometheus metrics of one Proxy, in its own `CollectorRegistry` (never the global one).

Series (all names start with `literllm_`; durations in seconds, money in USD):

| metric | type | labels |
|---|---|---|
| `requests_total` | counter | model, deployment, key, status |
| `request_duration_seconds` | histogram | model |
| `upstream_duration_seconds` | histogram | model, deployment |
| `gateway_overhead_seconds` | histogram | (none) |
| `time_to_first_token_seconds` | histogram | model, deployment |
| `tokens_total` | counter | model, deployment, key, kind |
| `cost_usd_total` | counter | model, deployment, key |
| `cache_lookups_total` | counter | model, result (`hit`, `miss`, `error`) |
| `retries_total` | counter | model, deployment |
| `fallbacks_total` | counter | model, fallback |
| `cooldowns_total` | counter | model, deployment |
| `rate_limit_refusals_total` | counter | key, scope (`key`, `global`), limit (`rpm`, `tpm`) |
| `budget_refusals_total` | counter | key, scope (`key`, `model`, `global`) |
| `in_flight_requests` | gauge | model |
| `spend_usd`, `spend_limit_usd` | gauge | scope, name |

`kind` is `input` (all prompt tokens, cached included), `output`, `cached`
(prompt-cache reads), `cache_write` and `reasoning`. `status` is the HTTP status
answered. `key` is a label the caller derives with `literllm.redact.key_label`
(the key's description, `master`, or `key-<8 hex of its SHA-256>`): never a token.

Cardinality stays bounded: model, deployment and key labels named at construction
(from the config) pass through; any other value (passthrough `provider/model` names,
unknown deployments) is admitted until `max_dynamic_labels` distinct values per label
have been seen, after which it is reported as `<provider>/other` (or `other`).

The request path is cheap: label values are normalised with two set lookups and
the label children of each (model, deployment, key) triple are bound once and kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Final, Protocol

import msgspec
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

__all__ = ["Metrics", "SpendCap", "TokenUsage"]

REQUEST_BUCKETS: Final = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
FIRST_TOKEN_BUCKETS: Final = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
OVERHEAD_BUCKETS: Final = (
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
)  # fmt: skip
TOKEN_KINDS: Final = ("input", "output", "cached", "cache_write", "reasoning")
OTHER: Final = "other"


class TokenUsage(Protocol):
    """What the metrics read from a usage value; `literllm.providers.base.Usage` fits."""

    @property
    def prompt_tokens(self) -> int: ...
    @property
    def completion_tokens(self) -> int: ...
    @property
    def cached_tokens(self) -> int: ...
    @property
    def cache_write_tokens(self) -> int: ...
    @property
    def reasoning_tokens(self) -> int: ...


class SpendCap(msgspec.Struct, frozen=True, kw_only=True):
    """Spend against one cap: scope `global` (name `global`), `model` (the model
    name) or `key` (the key label). `limit` is None for spend without a cap."""

    scope: str
    name: str
    spent: float
    limit: float | None = None


class _BoundedLabel:
    """Keeps one label's value set finite: known values, then up to `limit` others."""

    __slots__ = ("_admitted", "_known", "_limit")

    def __init__(self, known: Iterable[str], limit: int) -> None:
        self._known = frozenset(known)
        self._admitted: set[str] = set()
        self._limit = limit

    def __call__(self, value: str) -> str:
        if value in self._known or value in self._admitted:
            return value
        if len(self._admitted) < self._limit:
            self._admitted.add(value)
            return value
        provider, slash, _ = value.partition("/")
        return f"{provider}/{OTHER}" if slash else OTHER


class _SpendCollector(Collector):
    """Reports the last spend snapshot at scrape time."""

    def __init__(self, prefix: str) -> None:
        self._prefix = prefix
        self.snapshot: tuple[SpendCap, ...] = ()

    def collect(self) -> Iterator[Metric]:
        return self._families(self.snapshot)

    def describe(self) -> Iterator[Metric]:
        return self._families(())

    def _families(self, snapshot: tuple[SpendCap, ...]) -> Iterator[Metric]:
        spent = GaugeMetricFamily(
            f"{self._prefix}spend_usd", "Spend so far against each cap, in USD.",
            labels=("scope", "name"),
        )  # fmt: skip
        limit = GaugeMetricFamily(
            f"{self._prefix}spend_limit_usd", "Configured spend caps, in USD.",
            labels=("scope", "name"),
        )  # fmt: skip
        for cap in snapshot:
            spent.add_metric((cap.scope, cap.name), cap.spent)
            if cap.limit is not None:
                limit.add_metric((cap.scope, cap.name), cap.limit)
        yield spent
        yield limit


class _Bound:
    """The label children of one (model, deployment, key) triple."""

    __slots__ = ("cost", "duration", "labels", "requests", "tokens", "upstream")

    def __init__(self, metrics: Metrics, model: str, deployment: str, key: str) -> None:
        self.labels = (model, deployment, key)
        self.requests: dict[int, Counter] = {}
        self.duration = metrics._request_duration.labels(model)
        self.upstream = metrics._upstream_duration.labels(model, deployment)
        self.cost = metrics._cost.labels(model, deployment, key)
        self.tokens = tuple(metrics._tokens.labels(model, deployment, key, k) for k in TOKEN_KINDS)


class Metrics:
    """All metrics of one Proxy. `known_*` are the label values the config names."""

    def __init__(
        self,
        *,
        known_models: Iterable[str] = (),
        known_deployments: Iterable[str] = (),
        known_keys: Iterable[str] = (),
        max_dynamic_labels: int = 50,
        prefix: str = "literllm_",
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._model = _BoundedLabel(known_models, max_dynamic_labels)
        self._deployment = _BoundedLabel(known_deployments, max_dynamic_labels)
        self._key = _BoundedLabel(known_keys, max_dynamic_labels)
        self._bound: dict[tuple[str, str, str], _Bound] = {}
        self._in_flight_children: dict[str, Gauge] = {}
        self._first_token_children: dict[tuple[str, str], Histogram] = {}
        self._cache_by_model: dict[str, tuple[Counter, Counter, Counter]] = {}
        r = self.registry
        p = prefix
        self._requests = Counter(
            f"{p}requests", "Requests answered.", ("model", "deployment", "key", "status"),
            registry=r,
        )  # fmt: skip
        self._request_duration = Histogram(
            f"{p}request_duration_seconds", "Whole request, as the client saw it.", ("model",),
            buckets=REQUEST_BUCKETS, registry=r,
        )  # fmt: skip
        self._upstream_duration = Histogram(
            f"{p}upstream_duration_seconds", "Time spent waiting on upstream providers.",
            ("model", "deployment"), buckets=REQUEST_BUCKETS, registry=r,
        )  # fmt: skip
        self._overhead = Histogram(
            f"{p}gateway_overhead_seconds", "Request duration minus upstream time.",
            buckets=OVERHEAD_BUCKETS, registry=r,
        )  # fmt: skip
        self._first_token = Histogram(
            f"{p}time_to_first_token_seconds", "Streams: time to the first chunk.",
            ("model", "deployment"), buckets=FIRST_TOKEN_BUCKETS, registry=r,
        )  # fmt: skip
        self._tokens = Counter(
            f"{p}tokens", "Tokens by kind.", ("model", "deployment", "key", "kind"), registry=r
        )
        self._cost = Counter(
            f"{p}cost_usd", "Cost in USD.", ("model", "deployment", "key"), registry=r
        )
        self._cache = Counter(
            f"{p}cache_lookups", "Response cache lookups.", ("model", "result"), registry=r
        )
        self._retries = Counter(
            f"{p}retries", "Upstream retries.", ("model", "deployment"), registry=r
        )
        self._fallbacks = Counter(
            f"{p}fallbacks", "Fallbacks taken.", ("model", "fallback"), registry=r
        )
        self._cooldowns = Counter(
            f"{p}cooldowns", "Deployments put in cooldown.", ("model", "deployment"), registry=r
        )
        self._rate_limited = Counter(
            f"{p}rate_limit_refusals", "Requests refused by a rate limit.",
            ("key", "scope", "limit"), registry=r,
        )  # fmt: skip
        self._budget_refused = Counter(
            f"{p}budget_refusals", "Requests refused by a budget.", ("key", "scope"), registry=r
        )
        self._in_flight = Gauge(
            f"{p}in_flight_requests", "Requests being served.", ("model",), registry=r
        )
        self._spend = _SpendCollector(p)
        r.register(self._spend)

    # -- the request path -------------------------------------------------------------

    def _bind(self, model: str, deployment: str, key: str) -> _Bound:
        labels = (self._model(model), self._deployment(deployment), self._key(key))
        bound = self._bound.get(labels)
        if bound is None:
            bound = self._bound[labels] = _Bound(self, *labels)
        return bound

    def request_started(self, model: str) -> None:
        self._in_flight_child(model).inc()

    def request_finished(self, model: str) -> None:
        self._in_flight_child(model).dec()

    def _in_flight_child(self, model: str) -> Gauge:
        label = self._model(model)
        child = self._in_flight_children.get(label)
        if child is None:
            child = self._in_flight_children[label] = self._in_flight.labels(label)
        return child

    def observe_request(
        self,
        *,
        model: str,
        deployment: str,
        key: str,
        status: int,
        duration: float,
        upstream: float | None = None,
        usage: TokenUsage | None = None,
        cost: float | None = None,
    ) -> None:
        """Account one answered request. `deployment` is `-` when none was reached
        (refused, cache hit); `upstream` is the seconds spent on upstream calls (None
        when there were none), so the gateway's overhead is `duration - upstream`."""
        bound = self._bind(model, deployment, key)
        counter = bound.requests.get(status)
        if counter is None:
            counter = bound.requests[status] = self._requests.labels(*bound.labels, str(status))
        counter.inc()
        bound.duration.observe(duration)
        if upstream is not None:
            bound.upstream.observe(upstream)
            self._overhead.observe(max(duration - upstream, 0.0))
        else:
            self._overhead.observe(duration)
        if usage is not None:
            tokens = bound.tokens
            values = (
                usage.prompt_tokens,
                usage.completion_tokens,
                usage.cached_tokens,
                usage.cache_write_tokens,
                usage.reasoning_tokens,
            )
            for child, value in zip(tokens, values, strict=True):
                if value > 0:
                    child.inc(value)
        if cost:
            bound.cost.inc(cost)

    def time_to_first_token(self, model: str, deployment: str, seconds: float) -> None:
        labels = (self._model(model), self._deployment(deployment))
        child = self._first_token_children.get(labels)
        if child is None:
            child = self._first_token_children[labels] = self._first_token.labels(*labels)
        child.observe(seconds)

    # -- events -------------------------------------------------------------------------

    def cache_hit(self, model: str) -> None:
        self._cache_children(model)[0].inc()

    def cache_miss(self, model: str) -> None:
        self._cache_children(model)[1].inc()

    def cache_error(self, model: str) -> None:
        self._cache_children(model)[2].inc()

    def _cache_children(self, model: str) -> tuple[Counter, Counter, Counter]:
        label = self._model(model)
        children = self._cache_by_model.get(label)
        if children is None:
            hit, miss, error = (self._cache.labels(label, r) for r in ("hit", "miss", "error"))
            children = self._cache_by_model[label] = (hit, miss, error)
        return children

    def retry(self, model: str, deployment: str) -> None:
        self._retries.labels(self._model(model), self._deployment(deployment)).inc()

    def fallback(self, model: str, fallback: str) -> None:
        self._fallbacks.labels(self._model(model), self._model(fallback)).inc()

    def cooldown(self, model: str, deployment: str) -> None:
        self._cooldowns.labels(self._model(model), self._deployment(deployment)).inc()

    def rate_limit_refusal(self, key: str, scope: str, limit: str) -> None:
        """`scope` is `key` or `global`; `limit` is `rpm` or `tpm`."""
        self._rate_limited.labels(self._key(key), scope, limit).inc()

    def budget_refusal(self, key: str, scope: str) -> None:
        """`scope` is `key`, `model` or `global`."""
        self._budget_refused.labels(self._key(key), scope).inc()

    def update_spend(self, caps: Iterable[SpendCap]) -> None:
        """Replace the spend snapshot the next scrape reports (call before `render`)."""
        self._spend.snapshot = tuple(caps)

    # -- exposition ---------------------------------------------------------------------

    def render(self, accept: str | None = None) -> tuple[bytes, str]:
        """The body and content type for `GET /metrics`; OpenMetrics when the scraper's
        `Accept` header asks for it, else the Prometheus text format."""
        encoder, content_type = choose_encoder(accept or "")
        return encoder(self.registry), content_type
