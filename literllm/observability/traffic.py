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

`record` is on every request's path and costs about a microsecond: it fills the bucket
of the current minute only (remembered until the minute ends; the minute is added to its
quarter hour when the next begins) and the ring keeps the request's finished `Outcome`
with its id, path, arrival and latency (turned into `RequestEntry` only when read).
Time comes from the injected clock.

`pending()` hands over the counts added since its last call, per minute, for a shared
state backend to add up across processes (`literllm.state.sharedtraffic`).
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

    def subtract(self, other: BucketCounts) -> None:
        self.requests -= other.requests
        self.errors -= other.errors
        self.prompt_tokens -= other.prompt_tokens
        self.completion_tokens -= other.completion_tokens
        self.cost_usd -= other.cost_usd


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

    def add(self, other: _Bucket) -> None:
        self.requests += other.requests
        self.errors += other.errors
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.cost += other.cost
        latency = self.latency
        for index, count in other.latency.items():
            latency[index] = latency.get(index, 0) + count


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


_RequestRow = tuple["Outcome", float, str, str, float]
"""What the ring keeps of a request: its outcome, arrival, id, path and milliseconds."""


class Traffic:
    """The series and the ring of one process. `capacity`: requests the ring keeps (0
    keeps none)."""

    __slots__ = (
        "_clock",
        "_current",
        "_day",
        "_ends",
        "_handed",
        "_hour",
        "_ring",
        "capacity",
    )

    def __init__(self, clock: Clock, capacity: int = DEFAULT_CAPACITY) -> None:
        self._clock = clock
        self.capacity = capacity
        self._hour = _Tier(*WINDOWS["1h"])
        self._day = _Tier(*WINDOWS["24h"])
        self._ring: deque[_RequestRow] = deque(maxlen=capacity)
        # The minute being filled; the day's buckets get it when the next one begins.
        self._current = _Bucket(-1)
        self._ends = -math.inf
        # What `pending` handed over: (minute index, counts of that minute then).
        self._handed: tuple[int, BucketCounts] | None = None

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
        how long it took. A clock stepping back counts in the current minute."""
        now = self._clock.time()
        bucket = self._current if now < self._ends else self._roll(now)
        status = outcome.status
        usage = outcome.usage
        cost = outcome.cost
        bucket.requests += 1
        if status >= 400:
            bucket.errors += 1
        if usage is not None:
            bucket.prompt_tokens += usage.prompt_tokens
            bucket.completion_tokens += usage.completion_tokens
        if cost:
            bucket.cost += cost
        ms = seconds * 1000.0
        index = (
            math.floor(math.log2(ms) * BINS_PER_DOUBLING)
            if _MIN_MS < ms < _MAX_MS
            else latency_bin(ms)
        )
        latency = bucket.latency
        latency[index] = latency.get(index, 0) + 1
        if self.capacity:
            # the outcome itself: nothing changes it once its request is done
            self._ring.append((outcome, arrived, request_id, endpoint, ms))

    def _roll(self, now: float) -> _Bucket:
        """Start the minute of `now`, after adding the last one to its quarter hour."""
        self._fold(self._current)
        minute = int(now // 60)
        self._current = current = self._hour.bucket(minute)
        self._ends = (minute + 1) * 60
        return current

    def _fold(self, minute: _Bucket) -> None:
        if not minute.requests:
            return
        quarter = self._day.bucket(minute.index * 60 // self._day.seconds)
        quarter.add(minute)

    def pending(self) -> dict[int, BucketCounts]:
        """The counts added since the last call, by minute start (unix seconds), for a
        shared backend to add up across processes. Costs the request path nothing: it
        compares the minutes of the last hour with what it handed over before (a
        process that calls it less than hourly hands over only the last hour)."""
        handed = self._handed
        out: dict[int, BucketCounts] = {}
        current = self._current
        for bucket in self._hour.slots:
            if bucket is None or not bucket.requests or bucket.index > current.index:
                continue
            if handed is not None and bucket.index < handed[0]:
                continue
            counts = bucket.counts()
            if handed is not None and bucket.index == handed[0]:
                counts.subtract(handed[1])
                if not counts.requests and not counts.cost_usd:
                    continue
            out[bucket.index * 60] = counts
        if current.index >= 0:
            self._handed = (current.index, current.counts())
        return out

    # -- reading ------------------------------------------------------------------------

    def _window(self, window: str) -> Iterator[tuple[int, BucketCounts, list[dict[int, int]]]]:
        """(start, counts, latency histograms) of each bucket of `window`, oldest first;
        the day's last quarter hour includes the minute being filled."""
        now = self._clock.time()
        current = self._current
        if window == "1h":
            for start, bucket in self._hour.window(now):
                if bucket is None:
                    yield start, BucketCounts(), []
                else:
                    yield start, bucket.counts(), [bucket.latency]
            return
        live_start = current.index * 60 // self._day.seconds * self._day.seconds
        for start, bucket in self._day.window(now):
            counts = bucket.counts() if bucket is not None else BucketCounts()
            histograms = [bucket.latency] if bucket is not None else []
            if start == live_start and current.requests:
                counts.add(current.counts())
                histograms.append(current.latency)
            yield start, counts, histograms

    def report(
        self, window: str, shared: Mapping[int, BucketCounts] | None = None
    ) -> TrafficReport:
        """The buckets of `window` (`1h` or `24h`), oldest first. With `shared` (bucket
        start -> counts every process added up), the counts come from it; the
        percentiles stay this process's."""
        seconds, _ = WINDOWS[window]
        buckets: list[TrafficBucket] = []
        every: list[dict[int, int]] = []
        for start, own, histograms in self._window(window):
            counts = own if shared is None else shared.get(start) or BucketCounts()
            p50, p99 = percentiles(histograms)
            every.extend(histograms)
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
        p50, p99 = percentiles(every)
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
        for outcome, arrived, request_id, endpoint, ms in reversed(self._ring):
            if len(data) >= limit:
                break
            failed = outcome.status >= 400
            if status is not None and failed != (status == "error"):
                continue
            if model is not None and outcome.model != model:
                continue
            if key is not None and outcome.key_id != key:
                continue
            usage = outcome.usage
            data.append(
                RequestEntry(
                    time=round(arrived, 3),
                    request_id=request_id,
                    key_id=outcome.key_id,
                    key_label=None if outcome.key == "-" else outcome.key,
                    model=None if outcome.model == "-" else outcome.model,
                    deployment=outcome.deployment,
                    endpoint=endpoint,
                    status=outcome.status,
                    latency_ms=round(ms, 3),
                    prompt_tokens=None if usage is None else usage.prompt_tokens,
                    completion_tokens=None if usage is None else usage.completion_tokens,
                    cost_usd=outcome.cost,
                    cache=outcome.cache if outcome.cache in ("hit", "miss") else None,
                    error_type=outcome.error_type,
                    stream=outcome.stream,
                )
            )
        return RequestList(data=data)
