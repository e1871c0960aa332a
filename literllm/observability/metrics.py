"""Prometheus metrics of one Proxy, in its own `CollectorRegistry` (never the global one).

Series (all names start with `literllm_`; durations in seconds, money in USD):

| metric | type | labels |
|---|---|---|
| `requests_total` | counter | model, deployment, key, status |
| `operation_requests_total` | counter | operation, status |
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

`operation` is the endpoint's operation name (`chat`, `embeddings`, `text_completion`,
`moderation`, `rerank`, `image_generation`, `speech`, `transcription`, ...), the
same as the request span's `gen_ai.operation.name`.

`kind` is `input` (all prompt tokens, cached included), `output`, `cached`
(prompt-cache reads), `cache_write` and `reasoning`. `status` is the HTTP status
answered. `key` is a label the caller derives with `literllm.observability.redact.key_label`
(the key's description, `master`, or `key-<8 hex of its SHA-256>`): never a token.

Cardinality stays bounded and no client-chosen text becomes a label: model, deployment
and key labels named at construction (from the config) pass through, and `-` (none);
any other value (passthrough `provider/model` names and their deployments, unknown
model names, whatever a client sent as `model`) is reported as `other`.

The request path is cheap: label values are normalised with set lookups, the cells of
each (model, deployment, key) triple are bound once, and the hot series are plain
numbers handed to prometheus_client only at scrape time (no lock per update).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator
from typing import Final

import msgspec
from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from ..types import Usage

__all__ = ["Metrics", "SpendCap"]

REQUEST_BUCKETS: Final = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
FIRST_TOKEN_BUCKETS: Final = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
OVERHEAD_BUCKETS: Final = (
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
)  # fmt: skip
TOKEN_KINDS: Final = ("input", "output", "cached", "cache_write", "reasoning")
OTHER: Final = "other"


class SpendCap(msgspec.Struct, frozen=True, kw_only=True):
    """Spend against one cap: scope `global` (name `global`), `model` (the model
    name) or `key` (the key label). `limit` is None for spend without a cap."""

    scope: str
    name: str
    spent: float
    limit: float | None = None


class _BoundedLabel:
    """One label's values: the names known at construction, anything else `other`.

    Model names and deployments come from clients (passthrough `provider/model`, or any
    text sent as `model`, a secret included), so they never become a label themselves.
    """

    __slots__ = ("_known",)

    def __init__(self, known: Iterable[str]) -> None:
        self._known = frozenset(known)

    def __call__(self, value: str) -> str:
        return value if value in self._known else OTHER


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


class _Series:
    """Counters or histograms keyed by label values, kept as plain numbers.

    prometheus_client's children take a lock on every `inc`/`observe`; the gateway
    updates a dozen series per request on one event loop, so it adds plain numbers here
    and hands them to prometheus_client only when scraped.
    """

    __slots__ = ("buckets", "doc", "labels", "name", "values")

    def __init__(
        self, name: str, doc: str, labels: tuple[str, ...], buckets: tuple[float, ...] | None = None
    ) -> None:
        self.name = name
        self.doc = doc
        self.labels = labels
        self.buckets = buckets
        self.values: dict[tuple[str, ...], list[float]] = {}

    def slot(self, labels: tuple[str, ...]) -> list[float]:
        """The mutable cell of one label set: [value] for a counter or gauge;
        [sum, count, bucket counts..., overflow count] for a histogram."""
        cell = self.values.get(labels)
        if cell is None:
            # a histogram's last slot counts values above every bucket; `_observe` adds
            # to it so that it needs no bounds check, and scrapes ignore it
            size = 1 if self.buckets is None else 3 + len(self.buckets)
            cell = self.values[labels] = [0.0] * size
        return cell

    def counter_family(self) -> Metric:
        family = CounterMetricFamily(self.name, self.doc, labels=self.labels)
        for labels, cell in self.values.items():
            family.add_metric(labels, cell[0])
        return family

    def gauge_family(self) -> Metric:
        family = GaugeMetricFamily(self.name, self.doc, labels=self.labels)
        for labels, cell in self.values.items():
            family.add_metric(labels, cell[0])
        return family

    def histogram_family(self) -> Metric:
        assert self.buckets is not None
        family = HistogramMetricFamily(self.name, self.doc, labels=self.labels)
        for labels, cell in self.values.items():
            running = 0.0
            buckets = []
            for bound, count in zip(self.buckets, cell[2:-1], strict=True):
                running += count
                buckets.append((_bound_text(bound), running))
            buckets.append(("+Inf", cell[1]))
            family.add_metric(labels, buckets, cell[0])
        return family


def _bound_text(bound: float) -> str:
    return repr(float(bound))


def _observe(cell: list[float], buckets: tuple[float, ...], value: float) -> None:
    cell[0] += value
    cell[1] += 1
    cell[2 + bisect_left(buckets, value)] += 1


class _HotCollector(Collector):
    """Exposes the plain-number series at scrape time."""

    def __init__(
        self, counters: list[_Series], gauges: list[_Series], histograms: list[_Series]
    ) -> None:
        self._counters = counters
        self._gauges = gauges
        self._histograms = histograms

    def collect(self) -> Iterator[Metric]:
        for series in self._counters:
            yield series.counter_family()
        for series in self._gauges:
            yield series.gauge_family()
        for series in self._histograms:
            yield series.histogram_family()

    def describe(self) -> Iterator[Metric]:
        return self.collect()


class _Bound:
    """The cells of one (model, deployment, key) triple, looked up once."""

    __slots__ = (
        "cache_write_tokens", "cached_tokens", "cost", "duration", "input_tokens",
        "labels", "output_tokens", "reasoning_tokens", "requests", "upstream",
    )  # fmt: skip

    def __init__(self, metrics: Metrics, model: str, deployment: str, key: str) -> None:
        self.labels = (model, deployment, key)
        self.requests: dict[int, list[float]] = {}
        self.duration = metrics._request_duration.slot((model,))
        self.upstream = metrics._upstream_duration.slot((model, deployment))
        self.cost = metrics._cost.slot(self.labels)
        (
            self.input_tokens,
            self.output_tokens,
            self.cached_tokens,
            self.cache_write_tokens,
            self.reasoning_tokens,
        ) = (metrics._tokens.slot((*self.labels, kind)) for kind in TOKEN_KINDS)

    def add_tokens(self, usage: Usage) -> None:
        if (count := usage.prompt_tokens) > 0:
            self.input_tokens[0] += count
        if (count := usage.completion_tokens) > 0:
            self.output_tokens[0] += count
        if (count := usage.cached_tokens) > 0:
            self.cached_tokens[0] += count
        if (count := usage.cache_write_tokens) > 0:
            self.cache_write_tokens[0] += count
        if (count := usage.reasoning_tokens) > 0:
            self.reasoning_tokens[0] += count


class Metrics:
    """All metrics of one Proxy. `known_*` are the label values the config names."""

    def __init__(
        self,
        *,
        known_models: Iterable[str] = (),
        known_deployments: Iterable[str] = (),
        known_keys: Iterable[str] = (),
        prefix: str = "literllm_",
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        # `-` stands for "none" (a refusal before a model or key was known).
        self._model = _BoundedLabel((*known_models, "-"))
        self._deployment = _BoundedLabel((*known_deployments, "-"))
        self._key = _BoundedLabel((*known_keys, "-"))
        # The cells of label values as normalised. A value that normalises to itself
        # always will, so the request path looks its raw values up first and only the
        # values folded into `other` take the slow path; the dicts stay bounded.
        self._bound: dict[tuple[str, str, str], _Bound] = {}
        self._in_flight_cells: dict[str, list[float]] = {}
        self._first_token_cells: dict[tuple[str, str], list[float]] = {}
        p = prefix
        self._requests = _Series(
            f"{p}requests", "Requests answered.", ("model", "deployment", "key", "status")
        )
        self._operations = _Series(
            f"{p}operation_requests",
            "Requests answered, by operation (endpoint).",
            ("operation", "status"),
        )
        self._request_duration = _Series(
            f"{p}request_duration_seconds",
            "Whole request, as the client saw it.",
            ("model",),
            REQUEST_BUCKETS,
        )
        self._upstream_duration = _Series(
            f"{p}upstream_duration_seconds",
            "Time spent waiting on upstream providers.",
            ("model", "deployment"),
            REQUEST_BUCKETS,
        )
        self._overhead = _Series(
            f"{p}gateway_overhead_seconds",
            "Request duration minus upstream time.",
            (),
            OVERHEAD_BUCKETS,
        )
        self._overhead_cell = self._overhead.slot(())
        self._first_token = _Series(
            f"{p}time_to_first_token_seconds",
            "Streams: time to the first chunk.",
            ("model", "deployment"),
            FIRST_TOKEN_BUCKETS,
        )
        self._tokens = _Series(
            f"{p}tokens", "Tokens by kind.", ("model", "deployment", "key", "kind")
        )
        self._cost = _Series(f"{p}cost_usd", "Cost in USD.", ("model", "deployment", "key"))
        self._cache = _Series(f"{p}cache_lookups", "Response cache lookups.", ("model", "result"))
        self._cache_backend = _Series(
            f"{p}cache_backend_events",
            "Response cache backend: failed operations, operations skipped while it is "
            "down, and entries written.",
            ("event",),
        )
        self._in_flight = _Series(f"{p}in_flight_requests", "Requests being served.", ("model",))
        self.registry.register(
            _HotCollector(
                [
                    self._requests,
                    self._operations,
                    self._tokens,
                    self._cost,
                    self._cache,
                    self._cache_backend,
                ],
                [self._in_flight],
                [
                    self._request_duration,
                    self._upstream_duration,
                    self._overhead,
                    self._first_token,
                ],
            )
        )
        r = self.registry
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
        self._spend = _SpendCollector(p)
        r.register(self._spend)

    # -- the request path -------------------------------------------------------------

    def _bind(self, model: str, deployment: str, key: str) -> _Bound:
        labels = (self._model(model), self._deployment(deployment), self._key(key))
        bound = self._bound.get(labels)
        if bound is None:
            bound = self._bound[labels] = _Bound(self, *labels)
        return bound

    def _in_flight_cell(self, model: str) -> list[float]:
        cell = self._in_flight_cells.get(model)
        if cell is None:
            label = self._model(model)
            cell = self._in_flight_cells.get(label)
            if cell is None:
                cell = self._in_flight_cells[label] = self._in_flight.slot((label,))
        return cell

    def request_started(self, model: str) -> None:
        self._in_flight_cell(model)[0] += 1

    def request_finished(self, model: str) -> None:
        self._in_flight_cell(model)[0] -= 1

    def in_flight_total(self) -> int:
        """Requests being served now, all models together."""
        return int(sum(cell[0] for cell in self._in_flight.values.values()))

    def observe_request(
        self,
        *,
        model: str,
        deployment: str,
        key: str,
        status: int,
        duration: float,
        upstream: float | None = None,
        usage: Usage | None = None,
        cost: float | None = None,
    ) -> None:
        """Account one answered request. `deployment` is `-` when none was reached
        (refused, cache hit); `upstream` is the seconds spent on upstream calls (None
        when there were none), so the gateway's overhead is `duration - upstream`."""
        bound = self._bound.get((model, deployment, key))
        if bound is None:
            bound = self._bind(model, deployment, key)
        cell = bound.requests.get(status)
        if cell is None:
            cell = bound.requests[status] = self._requests.slot((*bound.labels, str(status)))
        cell[0] += 1
        _observe(bound.duration, REQUEST_BUCKETS, duration)
        if upstream is not None:
            _observe(bound.upstream, REQUEST_BUCKETS, upstream)
            overhead = duration - upstream
            _observe(self._overhead_cell, OVERHEAD_BUCKETS, 0.0 if overhead < 0.0 else overhead)
        else:
            _observe(self._overhead_cell, OVERHEAD_BUCKETS, duration)
        if usage is not None:
            bound.add_tokens(usage)
        if cost:
            bound.cost[0] += cost

    def operation_finished(self, operation: str, status: int) -> None:
        """One request of `operation` answered (a fixed set of names: no bound needed)."""
        self._operations.slot((operation, str(status)))[0] += 1

    def time_to_first_token(self, model: str, deployment: str, seconds: float) -> None:
        cell = self._first_token_cells.get((model, deployment))
        if cell is None:
            labels = (self._model(model), self._deployment(deployment))
            cell = self._first_token_cells.get(labels)
            if cell is None:
                cell = self._first_token_cells[labels] = self._first_token.slot(labels)
        _observe(cell, FIRST_TOKEN_BUCKETS, seconds)

    # -- events -------------------------------------------------------------------------

    def cache_hit(self, model: str) -> None:
        self._cache.slot((self._model(model), "hit"))[0] += 1

    def cache_miss(self, model: str) -> None:
        self._cache.slot((self._model(model), "miss"))[0] += 1

    def cache_error(self, model: str) -> None:
        self._cache.slot((self._model(model), "error"))[0] += 1

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

    def update_cache_backend(self, *, errors: int, skipped: int, writes: int) -> None:
        """Copy the response cache's own running totals (call before `render`)."""
        for event, total in (("error", errors), ("skipped", skipped), ("write", writes)):
            self._cache_backend.slot((event,))[0] = float(total)

    def update_spend(self, caps: Iterable[SpendCap]) -> None:
        """Replace the spend snapshot the next scrape reports (call before `render`)."""
        self._spend.snapshot = tuple(caps)

    # -- exposition ---------------------------------------------------------------------

    def render(self, accept: str | None = None) -> tuple[bytes, str]:
        """The body and content type for `GET /metrics`; OpenMetrics when the scraper's
        `Accept` header asks for it, else the Prometheus text format."""
        encoder, content_type = choose_encoder(accept or "")
        return encoder(self.registry), content_type
