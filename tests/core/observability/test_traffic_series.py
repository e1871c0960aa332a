"""The in-process traffic series and request ring, on a fake clock."""

from __future__ import annotations

import math
import random

import pytest

from literllm.observability.traffic import (
    BINS_PER_DOUBLING,
    BucketCounts,
    Traffic,
    bin_value,
    latency_bin,
    percentiles,
)
from literllm.outcome import Outcome
from literllm.testing import FakeClock
from literllm.types import Usage

START = 1_800_000_000.0  # a whole hour (and minute, and quarter hour)


def outcome(
    status: int = 200,
    *,
    model: str | None = "chat",
    key_id: str | None = "k-1",
    usage: Usage | None = None,
    cost: float | None = None,
    error_type: str | None = None,
    stream: bool = False,
) -> Outcome:
    made = Outcome()
    made.status = status
    made.model = model
    made.key_id = key_id
    made.key = "team" if key_id else None
    made.usage = usage
    made.cost = cost
    made.error_type = error_type
    made.stream = stream
    return made


def record(traffic: Traffic, clock: FakeClock, made: Outcome, ms: float = 10.0, n: int = 0) -> None:
    traffic.record(
        made, request_id=f"req-{n}", endpoint="/v1/chat/completions", arrived=clock.time(),
        seconds=ms / 1000.0,
    )  # fmt: skip


def test_an_empty_series_has_every_bucket_with_zeros() -> None:
    clock = FakeClock(START + 30)
    report = Traffic(clock).report("1h")
    assert report.bucket_seconds == 60 and len(report.buckets) == 60
    assert [b.start for b in report.buckets] == [int(START) - 59 * 60 + 60 * i for i in range(60)]
    assert all(b.requests == 0 and b.p50_ms is None and b.cost_usd == 0.0 for b in report.buckets)
    assert report.totals.requests == 0 and report.totals.p99_ms is None
    day = Traffic(clock).report("24h")
    assert day.bucket_seconds == 900 and len(day.buckets) == 96
    assert day.buckets[-1].start == int(START) and day.buckets[0].start == int(START) - 95 * 900


def test_counts_land_in_the_bucket_of_their_minute_and_roll_over() -> None:
    clock = FakeClock(START + 5)
    traffic = Traffic(clock)
    usage = Usage(prompt_tokens=10, completion_tokens=4, total_tokens=14)
    record(traffic, clock, outcome(usage=usage, cost=0.5))
    record(traffic, clock, outcome(500, error_type="upstream_error"))
    clock.advance(60)
    record(traffic, clock, outcome(429, usage=usage, cost=0.25))
    buckets = traffic.report("1h").buckets
    assert (buckets[-2].requests, buckets[-2].errors, buckets[-2].cost_usd) == (2, 1, 0.5)
    assert (buckets[-2].prompt_tokens, buckets[-2].completion_tokens) == (10, 4)
    assert (buckets[-1].requests, buckets[-1].errors, buckets[-1].cost_usd) == (1, 1, 0.25)
    assert buckets[-1].start - buckets[-2].start == 60
    totals = traffic.report("1h").totals
    assert (totals.requests, totals.errors, totals.prompt_tokens) == (3, 2, 20)
    assert totals.cost_usd == 0.75
    day = traffic.report("24h")  # both minutes are in the same quarter hour
    assert day.buckets[-1].requests == 3 and day.buckets[-1].errors == 2


def test_buckets_older_than_the_window_are_gone_and_their_slots_reused() -> None:
    clock = FakeClock(START)
    traffic = Traffic(clock)
    record(traffic, clock, outcome())
    clock.advance(3600)  # one hour later, the same slot of the ring
    record(traffic, clock, outcome(503))
    hour = traffic.report("1h")
    assert hour.totals.requests == 1 and hour.buckets[-1].errors == 1
    assert traffic.report("24h").totals.requests == 2
    clock.advance(86_400)
    assert traffic.report("24h").totals.requests == 0
    assert traffic.report("1h").totals.requests == 0


def test_a_quiet_gap_leaves_empty_buckets_between() -> None:
    clock = FakeClock(START)
    traffic = Traffic(clock)
    record(traffic, clock, outcome())
    clock.advance(600)
    record(traffic, clock, outcome())
    counts = [b.requests for b in traffic.report("1h").buckets]
    assert counts[-11:] == [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]
    assert sum(counts) == 2


def test_percentiles_are_within_the_documented_accuracy() -> None:
    clock = FakeClock(START)
    traffic = Traffic(clock)
    rng = random.Random(7)
    samples = [rng.lognormvariate(4.0, 1.0) for _ in range(2000)]
    for ms in samples:
        record(traffic, clock, outcome(), ms=ms)
    ordered = sorted(samples)
    exact_p50 = ordered[math.ceil(0.5 * len(ordered)) - 1]
    exact_p99 = ordered[math.ceil(0.99 * len(ordered)) - 1]
    totals = traffic.report("1h").totals
    assert totals.p50_ms is not None and totals.p99_ms is not None
    assert abs(totals.p50_ms / exact_p50 - 1) < 0.045
    assert abs(totals.p99_ms / exact_p99 - 1) < 0.045
    assert traffic.report("1h").buckets[-1].p50_ms == totals.p50_ms


def test_percentiles_of_few_samples_and_extremes() -> None:
    assert percentiles([]) == (None, None)
    assert percentiles([{}]) == (None, None)
    one = {latency_bin(100.0): 1}
    p50, p99 = percentiles([one])
    assert p50 == p99 and p50 is not None and abs(p50 / 100.0 - 1) < 0.045
    # 99 fast requests and one slow: p50 fast, p99 still fast (nearest rank 99)
    mixed = {latency_bin(10.0): 99, latency_bin(5000.0): 1}
    p50, p99 = percentiles([mixed])
    assert p50 is not None and p99 is not None and p99 < 11
    assert percentiles([{latency_bin(10.0): 98, latency_bin(5000.0): 2}])[1] == pytest.approx(
        bin_value(latency_bin(5000.0))
    )
    # histograms merge
    assert percentiles([{latency_bin(1.0): 1}, {latency_bin(1000.0): 3}])[0] == pytest.approx(
        bin_value(latency_bin(1000.0))
    )
    assert latency_bin(0.0) == latency_bin(0.01) and latency_bin(1e12) == latency_bin(1e7)
    assert latency_bin(2.0) - latency_bin(1.0) == BINS_PER_DOUBLING


def test_a_bucket_histogram_stays_bounded() -> None:
    clock = FakeClock(START)
    traffic = Traffic(clock)
    for i in range(5000):
        record(traffic, clock, outcome(), ms=10 ** (i % 1000 / 100 - 3))  # 1 µs to 10^7 ms
    hour_bucket = traffic._hour.slots[int(START // 60) % 60]
    assert hour_bucket is not None
    assert len(hour_bucket.latency) <= math.log2(1e7 / 0.01) * BINS_PER_DOUBLING + 2


def test_the_ring_keeps_the_newest_up_to_capacity() -> None:
    clock = FakeClock(START)
    traffic = Traffic(clock, capacity=5)
    for n in range(12):
        record(traffic, clock, outcome(200 if n % 3 else 500), n=n)
        clock.advance(1)
    recent = traffic.recent(limit=100).data
    assert [e.request_id for e in recent] == ["req-11", "req-10", "req-9", "req-8", "req-7"]
    assert recent[0].time > recent[-1].time
    assert [e.request_id for e in traffic.recent(limit=2).data] == ["req-11", "req-10"]
    assert [e.request_id for e in traffic.recent(status="error").data] == ["req-9"]
    assert len(traffic.recent(status="ok").data) == 4
    assert traffic.report("1h").totals.requests == 12  # the series is not the ring
    assert Traffic(clock, capacity=0).recent().data == []


def test_ring_entries_carry_the_outcome_and_filter_by_model_and_key() -> None:
    clock = FakeClock(START)
    traffic = Traffic(clock)
    usage = Usage(prompt_tokens=3, completion_tokens=2, total_tokens=5)
    made = outcome(usage=usage, cost=0.001, stream=True)
    made.deployment, made.cache = "chat#0", "miss"
    record(traffic, clock, made, ms=12.5, n=1)
    refused = outcome(401, model="-", key_id=None, error_type="authentication_error")
    refused.key = "-"
    record(traffic, clock, refused, n=2)
    other = outcome(model="embed", key_id="k-2")
    other.cache = "bypass"
    record(traffic, clock, other, n=3)
    first = traffic.recent(model="chat").data
    assert len(first) == 1
    entry = first[0]
    assert (entry.request_id, entry.key_id, entry.key_label) == ("req-1", "k-1", "team")
    assert (entry.model, entry.deployment, entry.endpoint) == (
        "chat",
        "chat#0",
        "/v1/chat/completions",
    )
    assert (entry.status, entry.latency_ms, entry.stream, entry.cache) == (200, 12.5, True, "miss")
    assert (entry.prompt_tokens, entry.completion_tokens, entry.cost_usd) == (3, 2, 0.001)
    assert entry.error_type is None and entry.time == START
    anonymous = traffic.recent(status="error").data[0]
    assert (anonymous.model, anonymous.key_id, anonymous.key_label) == (None, None, None)
    assert anonymous.error_type == "authentication_error" and anonymous.prompt_tokens is None
    assert [e.request_id for e in traffic.recent(key="k-2").data] == ["req-3"]
    assert traffic.recent(key="k-2").data[0].cache is None  # only hit or miss are told


def test_pending_hands_over_each_count_once_per_minute() -> None:
    clock = FakeClock(START)
    traffic = Traffic(clock)
    usage = Usage(prompt_tokens=5, completion_tokens=1, total_tokens=6)
    record(traffic, clock, outcome(usage=usage, cost=0.5))
    record(traffic, clock, outcome(500))
    assert traffic.pending() == {int(START): BucketCounts(2, 1, 5, 1, 0.5)}
    assert traffic.pending() == {}
    record(traffic, clock, outcome())
    clock.advance(60)
    record(traffic, clock, outcome(404))
    assert traffic.pending() == {
        int(START): BucketCounts(1, 0, 0, 0, 0.0),
        int(START) + 60: BucketCounts(1, 1, 0, 0, 0.0),
    }
    assert traffic.report("1h").totals.requests == 4  # handing over does not take away
    assert Traffic(clock).pending() == {}


def test_the_day_splits_at_quarter_hours_and_includes_the_live_minute() -> None:
    clock = FakeClock(START + 14 * 60 + 59)  # the last second of the first quarter hour
    traffic = Traffic(clock)
    record(traffic, clock, outcome(), ms=5.0)
    clock.advance(1)  # the second quarter hour begins
    record(traffic, clock, outcome(502), ms=500.0)
    record(traffic, clock, outcome(), ms=500.0)
    day = traffic.report("24h").buckets
    assert (day[-2].start, day[-2].requests, day[-2].errors) == (int(START), 1, 0)
    assert (day[-1].start, day[-1].requests, day[-1].errors) == (int(START) + 900, 2, 1)
    assert day[-2].p50_ms is not None and day[-2].p50_ms < 6
    assert day[-1].p50_ms is not None and day[-1].p50_ms > 450
    clock.advance(120)  # the live minute is folded when the next request comes
    record(traffic, clock, outcome(), ms=5.0)
    assert traffic.report("24h").buckets[-1].requests == 3
    assert traffic.report("24h").totals.requests == 4
