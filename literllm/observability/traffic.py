"""Recent traffic of one process: a bounded time series and a ring of the last requests.

What the admin dashboard shows at a glance (`GET /admin/traffic`, `GET /admin/requests`),
kept in memory, bounded whatever the load:

* **series**: two rings of buckets, 60 of 60 s (the last hour) and 96 of 900 s (the last
  day). Each bucket counts requests, errors (status >= 400), prompt and completion
  tokens and cost, and keeps a latency histogram for p50 and p99. The histogram's bins
  are 1/8 of a doubling wide (a ratio of 2^(1/8), about 1.09); a percentile is reported
  as its bin's geometric middle, so it is within 4.5 % of the exact value (latencies
  below 0.01 ms or above 10^7 ms are counted at those bounds). A bucket's histogram has
  at most a few hundred bins, whatever the traffic.
* **ring**: the last `capacity` requests (default 1000), newest last: time, request id,
  key id and label, model, deployment, path, status, latency, tokens, cost, cache and
  error type. Never a body, a header or a secret.

`record` is on every request's path and costs about a microsecond: the current buckets
are remembered until their minute ends, the ring keeps plain tuples (turned into
`RequestEntry` only when read). Time comes from the injected clock.

`pending()` hands over the counters added since the last call, per bucket (for a shared
state backend to add up across processes: `literllm.observability.sharedtraffic`).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Final, Literal

import msgspec

from ..clock import Clock

if TYPE_CHECKING:
    from ..outcome import Outcome

__all__ = [
    "DEFAULT_CAPACITY",
    "WINDOWS",
    "BucketCounts",
    "RequestEntry",
    "RequestList",
    "Traffic",
    "TrafficBucket",
    "TrafficReport",
    "TrafficTotals",
    "Window",
]

DEFAULT_CAPACITY: Final = 1000
BINS_PER_DOUBLING: Final = 8
_MIN_MS: Final = 0.01
_MAX_MS: Final = 1e7
Window = Literal["1h", "24h"]
WINDOWS: Final[Mapping[str, tuple[int, int]]] = {"1h": (60, 60), "24h": (900, 96)}
"""Window name -> (bucket seconds, bucket count)."""


class TrafficBucket(msgspec.Struct, kw_only=True):
    start: int
    """Unix seconds at which the bucket begins."""
    requests: int = 0
    errors: int = 0
    p50_ms: float | None = None
    p99_ms: float | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0


class TrafficTotals(msgspec.Struct, kw_only=True):
    requests: int = 0
    errors: int = 0
    p50_ms: float | None = None
    p99_ms: float | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0


class TrafficReport(msgspec.Struct, kw_only=True):
    window: str
    bucket_seconds: int
    buckets: list[TrafficBucket]
    """Oldest first; buckets without traffic are there, with zeros."""
    totals: TrafficTotals
    shared: bool = False
    """Whether the counts (not the percentiles) are every process's, from the state
    backend; percentiles are always this process's."""


class RequestEntry(msgspec.Struct, kw_only=True):
    time: float
    """When the request arrived, unix seconds."""
    request_id: str
    key_id: str | None
    key_label: str | None
    model: str | None
    deployment: str | None
    endpoint: str
    status: int
    latency_ms: float
    prompt_tokens: int | None
    completion_tokens: int | None
    cost_usd: float | None
    cache: str | None
    error_type: str | None
    stream: bool


class RequestList(msgspec.Struct, kw_only=True):
    data: list[RequestEntry]
    """Newest first."""
    object: str = "list"


class BucketCounts(msgspec.Struct, array_like=True):
    """The additive part of a bucket (what processes can add up)."""

    requests: int = 0
    errors: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0

    def add(self, other: BucketCounts) -> None:
        self.requests += other.requests
        self.errors += other.errors
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.cost_usd += other.cost_usd


class _Bucket:
    __slots__ = (
        "completion_tokens",
        "cost",
        "errors",
        "index",
        "latency",
        "prompt_tokens",
        "requests",
    )

    def __init__(self, index: int) -> None:
        self.index = index
        self.requests = 0
        self.errors = 0
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.cost = 0.0
        self.latency: dict[int, int] = {}

    def counts(self) -> BucketCounts:
        return BucketCounts(
            self.requests, self.errors, self.prompt_tokens, self.completion_tokens, self.cost
        )


def latency_bin(ms: float) -> int:
    """The histogram bin of a latency in milliseconds."""
    if ms < _MIN_MS:
        ms = _MIN_MS
    elif ms > _MAX_MS:
        ms = _MAX_MS
    return math.floor(math.log2(ms) * BINS_PER_DOUBLING)


def bin_value(index: int) -> float:
    """The geometric middle of a bin, in milliseconds."""
    return round(math.pow(2.0, (index + 0.5) / BINS_PER_DOUBLING), 3)


def percentiles(histograms: Iterable[Mapping[int, int]]) -> tuple[float | None, float | None]:
    """(p50, p99) in milliseconds of the histograms merged; None without samples."""
    merged: dict[int, int] = {}
    for histogram in histograms:
        for index, count in histogram.items():
            merged[index] = merged.get(index, 0) + count
    total = sum(merged.values())
    if not total:
        return None, None
    # nearest rank: the smallest value with at least q of the samples at or below it
    wanted = [max(1, math.ceil(q * total)) for q in (0.50, 0.99)]
    found: list[float] = []
    running = 0
    for index in sorted(merged):
        running += merged[index]
        while len(found) < len(wanted) and running >= wanted[len(found)]:
            found.append(bin_value(index))
    return found[0], found[1]


class _Tier:
    """A ring of `count` buckets of `seconds` each; slot = bucket index mod count."""

    __slots__ = ("count", "seconds", "slots")

    def __init__(self, seconds: int, count: int) -> None:
        self.seconds = seconds
        self.count = count
        self.slots: list[_Bucket | None] = [None] * count

    def bucket(self, index: int) -> _Bucket:
        slot = index % self.count
        bucket = self.slots[slot]
        if bucket is None or bucket.index != index:
            bucket = self.slots[slot] = _Bucket(index)
        return bucket

    def window(self, now: float) -> Iterator[tuple[int, _Bucket | None]]:
        """(start, bucket or None) for the `count` buckets ending with `now`'s, oldest first."""
        last = int(now // self.seconds)
        for index in range(last - self.count + 1, last + 1):
            bucket = self.slots[index % self.count]
            yield (
                index * self.seconds,
                bucket if bucket is not None and bucket.index == index else None,
            )


_RequestRow = tuple[
    float, str, str | None, str | None, str | None, str | None, str, int, float,
    int | None, int | None, float | None, str | None, str | None, bool,
]  # fmt: skip


class Traffic:
    """The series and the ring of one process. `capacity`: requests the ring keeps (0
    keeps none). `share`: keep counters for `pending()` (a shared backend is set)."""

    __slots__ = (
        "_clock",
        "_current",
        "_day",
        "_ends",
        "_hour",
        "_pending",
        "_ring",
        "_share_cell",
        "capacity",
        "share",
    )

    def __init__(
        self, clock: Clock, capacity: int = DEFAULT_CAPACITY, *, share: bool = False
    ) -> None:
        self._clock = clock
        self.capacity = capacity
        self.share = share
        self._hour = _Tier(*WINDOWS["1h"])
        self._day = _Tier(*WINDOWS["24h"])
        self._ring: deque[_RequestRow] = deque(maxlen=capacity)
        self._current: tuple[_Bucket, _Bucket] | None = None
        self._ends = -math.inf  # when the current minute bucket ends
        # minute start -> counts not yet handed to the shared backend
        self._pending: dict[int, BucketCounts] = {}
        self._share_cell: BucketCounts | None = None

    # -- the request path -------------------------------------------------------------

    def record(
        self,
        outcome: Outcome,
        *,
        request_id: str,
        endpoint: str,
        arrived: float,
        seconds: float,
    ) -> None:
        """Account one finished request: `arrived` is its wall-clock arrival, `seconds`
        how long it took."""
        now = self._clock.time()
        if now >= self._ends or now < self._ends - 60.0 or self._current is None:
            current = self._roll(now)
        else:
            current = self._current
        status = outcome.status
        usage = outcome.usage
        cost = outcome.cost
        ms = seconds * 1000.0
        index = latency_bin(ms)
        for bucket in current:
            bucket.requests += 1
            if status >= 400:
                bucket.errors += 1
            if usage is not None:
                bucket.prompt_tokens += usage.prompt_tokens
                bucket.completion_tokens += usage.completion_tokens
            if cost:
                bucket.cost += cost
            latency = bucket.latency
            latency[index] = latency.get(index, 0) + 1
        cell = self._share_cell
        if cell is not None:
            cell.requests += 1
            if status >= 400:
                cell.errors += 1
            if usage is not None:
                cell.prompt_tokens += usage.prompt_tokens
                cell.completion_tokens += usage.completion_tokens
            if cost:
                cell.cost_usd += cost
        if self.capacity:
            self._ring.append(
                (
                    arrived, request_id, outcome.key_id, outcome.key, outcome.model,
                    outcome.deployment, endpoint, status, ms,
                    None if usage is None else usage.prompt_tokens,
                    None if usage is None else usage.completion_tokens,
                    cost, outcome.cache, outcome.error_type, outcome.stream,
                )
            )  # fmt: skip

    def _roll(self, now: float) -> tuple[_Bucket, _Bucket]:
        minute = int(now // 60)
        current = (self._hour.bucket(minute), self._day.bucket(int(now // self._day.seconds)))
        self._current = current
        self._ends = (minute + 1) * 60
        if self.share:
            cell = self._pending.get(minute * 60)
            if cell is None:
                cell = self._pending[minute * 60] = BucketCounts()
            self._share_cell = cell
        return current

    def pending(self) -> dict[int, BucketCounts]:
        """Counts added since the last call, by minute start (unix seconds), for the
        shared backend to add up. Bounded: one entry per minute between two calls."""
        out, self._pending = self._pending, {}
        self._share_cell = None
        self._ends = -math.inf  # the next request fetches a fresh cell
        return {start: counts for start, counts in out.items() if counts.requests}

    # -- reading ------------------------------------------------------------------------

    def report(
        self, window: str, shared: Mapping[int, BucketCounts] | None = None
    ) -> TrafficReport:
        """The buckets of `window` (`1h` or `24h`), oldest first. With `shared` (bucket
        start -> counts every process added up), the counts come from it; the
        percentiles stay this process's."""
        seconds, _ = WINDOWS[window]
        tier = self._hour if window == "1h" else self._day
        buckets: list[TrafficBucket] = []
        histograms: list[dict[int, int]] = []
        for start, bucket in tier.window(self._clock.time()):
            p50, p99 = percentiles([bucket.latency]) if bucket is not None else (None, None)
            if shared is not None:
                counts = shared.get(start) or BucketCounts()
            else:
                counts = bucket.counts() if bucket is not None else BucketCounts()
            if bucket is not None:
                histograms.append(bucket.latency)
            buckets.append(
                TrafficBucket(
                    start=start,
                    requests=counts.requests,
                    errors=counts.errors,
                    p50_ms=p50,
                    p99_ms=p99,
                    prompt_tokens=counts.prompt_tokens,
                    completion_tokens=counts.completion_tokens,
                    cost_usd=round(counts.cost_usd, 10),
                )
            )
        p50, p99 = percentiles(histograms)
        totals = TrafficTotals(
            requests=sum(b.requests for b in buckets),
            errors=sum(b.errors for b in buckets),
            p50_ms=p50,
            p99_ms=p99,
            prompt_tokens=sum(b.prompt_tokens for b in buckets),
            completion_tokens=sum(b.completion_tokens for b in buckets),
            cost_usd=round(sum(b.cost_usd for b in buckets), 10),
        )
        return TrafficReport(
            window=window,
            bucket_seconds=seconds,
            buckets=buckets,
            totals=totals,
            shared=shared is not None,
        )

    def recent(
        self,
        *,
        limit: int = 100,
        status: Literal["ok", "error"] | None = None,
        model: str | None = None,
        key: str | None = None,
    ) -> RequestList:
        """The most recent requests, newest first: at most `limit`, only the failed
        (`error`: status >= 400) or the others (`ok`), of one model, of one key (its id)."""
        data: list[RequestEntry] = []
        for row in reversed(self._ring):
            if len(data) >= limit:
                break
            if status is not None and (row[7] >= 400) != (status == "error"):
                continue
            if model is not None and row[4] != model:
                continue
            if key is not None and row[2] != key:
                continue
            data.append(
                RequestEntry(
                    time=round(row[0], 3),
                    request_id=row[1],
                    key_id=row[2],
                    key_label=None if row[3] == "-" else row[3],
                    model=None if row[4] == "-" else row[4],
                    deployment=row[5],
                    endpoint=row[6],
                    status=row[7],
                    latency_ms=round(row[8], 3),
                    prompt_tokens=row[9],
                    completion_tokens=row[10],
                    cost_usd=row[11],
                    cache=row[12] if row[12] in ("hit", "miss") else None,
                    error_type=row[13],
                    stream=row[14],
                )
            )
        return RequestList(data=data)
