"""The memory backend's windows stay bounded under heavy traffic and stay correct.

Fake time only (times are passed to the store), no sleeps. `ExactLog` below is the
reference: the exact sliding log the memory backend kept before windows were bounded
(one entry per admitted request), which the other backends still are.
"""

from __future__ import annotations

import bisect
import heapq
import random
from collections import OrderedDict

import pytest

from literllm.state import HitOutcome, WindowHit, WindowState
from literllm.state.base import evaluate_window
from literllm.state.memory import EXACT_CELLS, MAX_CELLS, MAX_TRACKED, MemoryStateStore

WINDOW = 60.0
GRANULE = WINDOW / EXACT_CELLS
T0 = 1_800_000_000.0
HUGE = 4_294_967_295


class ExactLog:
    """One window as an exact log: entry id -> (timestamp, amount), oldest first."""

    def __init__(self) -> None:
        self.entries: OrderedDict[str, tuple[float, int]] = OrderedDict()
        self.total = 0

    def prune(self, now: float) -> None:
        while self.entries:
            entry_id, (timestamp, _) = next(iter(self.entries.items()))
            if timestamp > now - WINDOW:
                break
            self.remove(entry_id)

    def add(self, entry_id: str, now: float, amount: int) -> None:
        self.remove(entry_id)
        self.entries[entry_id] = (now, amount)
        self.total += amount

    def remove(self, entry_id: str) -> None:
        old = self.entries.pop(entry_id, None)
        if old is not None:
            self.total -= old[1]

    def reset_after(self, now: float) -> float:
        if not self.entries:
            return 0.0
        return max(next(iter(self.entries.values()))[0] + WINDOW - now, 0.0)


class ExactStore:
    """The reference for `hit` and the token part of `settle`."""

    def __init__(self) -> None:
        self.logs: dict[str, ExactLog] = {}

    def log(self, window: str, now: float) -> ExactLog:
        log = self.logs.setdefault(window, ExactLog())
        log.prune(now)
        return log

    def hit(self, entry_id: str, hits: list[WindowHit], now: float) -> HitOutcome:
        logs = [self.log(hit.window, now) for hit in hits]
        wait, refused = 0.0, []
        for hit, log in zip(hits, logs, strict=True):
            fits, hit_wait = evaluate_window(
                log.entries.values(), log.total, hit, now=now, window_seconds=WINDOW
            )
            if not fits:
                refused.append(hit.window)
                wait = max(wait, hit_wait)
        if not refused:
            for hit, log in zip(hits, logs, strict=True):
                log.add(entry_id, now, hit.amount)
        states = [
            WindowState(hit.window, hit.limit, log.total, log.reset_after(now))
            for hit, log in zip(hits, logs, strict=True)
        ]
        return HitOutcome(not refused, states, wait, refused)

    def settle(self, entry_id: str, tokens: list[tuple[str, int]], now: float) -> None:
        for window, amount in tokens:
            log = self.log(window, now)
            log.remove(entry_id)
            if amount > 0:
                log.add(entry_id, now, amount)

    def usage(self, window: str, now: float) -> int:
        return self.log(window, now).total


async def _usage(store: MemoryStateStore, window: str, now: float) -> int:
    return (await store.usage([window], now=now, window_seconds=WINDOW))[window]


async def test_200k_admissions_in_one_window_keep_cells_and_id_maps_bounded() -> None:
    store = MemoryStateStore()
    hits = [WindowHit("w:requests", HUGE, 1), WindowHit("w:tokens", HUGE, 100)]
    in_flight: list[str] = []
    count = 200_000
    spacing = 55.0 / count  # all within one window: nothing leaves it
    for i in range(count):
        now = T0 + i * spacing
        entry_id = f"r{i}"
        outcome = await store.hit(entry_id, hits, now=now, window_seconds=WINDOW)
        assert outcome.admitted
        in_flight.append(entry_id)
        if len(in_flight) > 50:  # settled 50 requests later, with 40 real tokens
            done = in_flight.pop(0)
            await store.settle(
                done, [], 0.0, now=now, tokens=[("w:tokens", 40)], window_seconds=WINDOW
            )
        if i % 1000 == 999:
            requests, tokens = store._logs["w:requests"], store._logs["w:tokens"]
            assert len(requests.cells) <= MAX_CELLS
            assert len(tokens.cells) <= MAX_CELLS
            assert len(requests.tracked) <= EXACT_CELLS  # its exact phase only
            assert len(tokens.tracked) <= EXACT_CELLS + 50
            assert requests.merging == (i >= EXACT_CELLS)
            assert tokens.merging or i < EXACT_CELLS
    now = T0 + (count - 1) * spacing
    assert await _usage(store, "w:requests", now) == count  # merged, never lost
    assert await _usage(store, "w:tokens", now) == 50 * 100 + (count - 50) * 40
    cells = len(store._logs["w:requests"].cells)
    assert EXACT_CELLS < cells <= MAX_CELLS

    # a minute later, steady traffic: about one cell per granule, only in-flight tracked
    for i in range(count, count + 30_000):
        now = T0 + 55.0 + (i - count) * 0.002  # 60 s more at 500 requests/s
        await store.hit(f"r{i}", hits, now=now, window_seconds=WINDOW)
        in_flight.append(f"r{i}")
        done = in_flight.pop(0)
        await store.settle(done, [], 0.0, now=now, tokens=[("w:tokens", 40)], window_seconds=WINDOW)
    requests, tokens = store._logs["w:requests"], store._logs["w:tokens"]
    assert len(requests.cells) <= EXACT_CELLS + 2
    assert len(tokens.cells) <= EXACT_CELLS + 2
    assert requests.tracked == {}
    assert len(tokens.tracked) == len(in_flight) == 50  # the requests in flight
    assert sum(len(cell.ids or ()) for cell in tokens.cells) == 50


@pytest.mark.parametrize("seed", [1, 2])
async def test_a_limit_is_never_exceeded_in_any_60s_with_merging(seed: int) -> None:
    rng = random.Random(seed)
    store = MemoryStateStore()
    reference = ExactStore()
    rpm, tpm = 2500, 200_000
    admitted_at: list[float] = []
    settles: list[tuple[float, str, int]] = []  # heap of (settle time, entry id, estimate)
    max_cells = refused_early = refused_exactly = refused_tokens = 0
    now = T0
    for i in range(40_000):
        # bursts and lulls: ~90 attempts a second on average, far over 2,500 a minute
        now += rng.expovariate(1000.0) if rng.random() < 0.9 else rng.expovariate(10.0)
        while settles and settles[0][0] <= now:
            at, entry_id, estimate = heapq.heappop(settles)
            tokens = [("w:tokens", rng.choice([0, rng.randint(1, estimate)]))]
            await store.settle(entry_id, [], 0.0, now=at, tokens=tokens, window_seconds=WINDOW)
            reference.settle(entry_id, tokens, at)
        estimate = rng.randint(1, 400) if rng.random() < 0.95 else rng.randint(5_000, 20_000)
        hits = [WindowHit("w:requests", rpm, 1), WindowHit("w:tokens", tpm, estimate)]
        outcome = await store.hit(f"r{i}", hits, now=now, window_seconds=WINDOW)
        if outcome.admitted:
            assert reference.hit(f"r{i}", hits, now).admitted  # merging only refuses more
            admitted_at.append(now)
            heapq.heappush(settles, (now + rng.uniform(0.0, 5.0), f"r{i}", estimate))
        elif outcome.refused == ["w:requests"]:
            # early by less than a granule: the exact log was full a granule before
            since = bisect.bisect_right(admitted_at, now - WINDOW - GRANULE)
            assert len(admitted_at) - since + 1 > rpm
            log = reference.log("w:requests", now)
            fits, wait = evaluate_window(
                log.entries.values(), log.total, hits[0], now=now, window_seconds=WINDOW
            )
            if fits:
                refused_early += 1
            else:  # retry-after: an upper bound, late by less than a granule
                assert wait <= outcome.retry_after < wait + GRANULE
                refused_exactly += 1
        else:
            refused_tokens += 1
        # conservative: the store counts at least what the exact log counts
        for window in ("w:requests", "w:tokens"):
            assert await _usage(store, window, now) >= reference.usage(window, now)
        assert reference.usage("w:tokens", now) <= tpm  # real usage <= estimate here
        max_cells = max(max_cells, *(len(log.cells) for log in store._logs.values()))
    assert max_cells > EXACT_CELLS  # merging was active
    assert max_cells <= MAX_CELLS
    assert len(admitted_at) > 5 * rpm  # the limit was reached, window after window
    assert refused_exactly > 1000 and refused_tokens > 100  # every check was exercised
    assert refused_early < refused_exactly / 10  # merging refuses early, but rarely
    # brute force: the admissions within any (t - 60 s, t] never exceed rpm
    for j, t in enumerate(admitted_at):
        assert j + 1 - bisect.bisect_right(admitted_at, t - WINDOW) <= rpm


async def test_small_windows_answer_exactly_as_the_exact_log() -> None:
    rng = random.Random(7)
    store = MemoryStateStore()
    reference = ExactStore()
    now = T0
    in_flight: list[str] = []
    refused: dict[str, int] = {}
    for i in range(5_000):
        now += rng.choice([0.0, 0.001, 0.05, 0.3, 0.5, 1.0, 3.0])
        if rng.random() < 0.002:
            now += 70.0  # every window empties
        key = rng.choice("ab")
        amount = rng.choice([1, 5, 50, 300])
        hits = [
            WindowHit(f"{key}:requests", 30, 1),
            WindowHit(f"{key}:tokens", 20_000, 25_000 if rng.random() < 0.02 else amount),
            WindowHit("g:requests", 45, 1),
        ]
        entry_id = f"{key}{i}"
        outcome = await store.hit(entry_id, hits, now=now, window_seconds=WINDOW)
        assert outcome == reference.hit(entry_id, hits, now)  # retry-after, reset, used
        if outcome.admitted:
            in_flight.append(entry_id)
        for window in outcome.refused:
            refused[window] = refused.get(window, 0) + 1
        if in_flight and rng.random() < 0.6:
            done = in_flight.pop(rng.randrange(len(in_flight)))
            tokens = [(f"{done[0]}:tokens", rng.choice([0, 10, 200, 7_000]))]
            await store.settle(done, [], 0.0, now=now, tokens=tokens, window_seconds=WINDOW)
            reference.settle(done, tokens, now)
        for window in ("a:requests", "a:tokens", "b:requests", "b:tokens", "g:requests"):
            assert await _usage(store, window, now) == reference.usage(window, now)
    assert all(not log.merging for log in store._logs.values())
    assert min(refused.values()) > 20 and len(refused) == 5, refused  # each one refused


async def test_token_amendment_after_merging_updates_the_totals() -> None:
    store = MemoryStateStore()
    window = "w:tokens"
    hits = [WindowHit(window, HUGE, 100)]

    async def admit(entry_id: str, now: float) -> None:
        assert (await store.hit(entry_id, hits, now=now, window_seconds=WINDOW)).admitted

    async def settle(entry_id: str, amount: int, now: float) -> None:
        tokens = [(window, amount)]
        await store.settle(entry_id, [], 0.0, now=now, tokens=tokens, window_seconds=WINDOW)

    await admit("first", T0)
    await settle("first", 100 + 1, T0)  # amended once: the window is a tokens window
    for i in range(3 * EXACT_CELLS):
        await admit(f"fill{i}", T0 + i * 0.001)
    now = T0 + 3 * EXACT_CELLS * 0.001 + GRANULE  # "a" opens a new cell
    log = store._logs[window]
    assert log.merging
    await admit("a", now)
    await admit("b", now + 0.001)
    await admit("c", now + 0.002)
    assert log.tracked["a"] is log.tracked["b"] is log.tracked["c"]  # one merged cell
    cells = len(log.cells)
    base = 101 + 3 * EXACT_CELLS * 100
    assert await _usage(store, window, now) == base + 300

    await settle("a", 30, now + 0.01)  # 100 -> 30
    await settle("b", 0, now + 0.01)  # released: 100 -> 0
    assert await _usage(store, window, now + 0.01) == base + 100 + 30
    assert "a" not in log.tracked and "b" not in log.tracked
    assert len(log.cells) <= cells + 1
    await settle("c", 250, now + 0.02)  # 100 -> 250
    assert await _usage(store, window, now + 0.02) == base + 30 + 250

    # an entry amended once is no longer tracked: a second amendment only adds
    await settle("a", 5, now + 0.03)
    assert await _usage(store, window, now + 0.03) == base + 30 + 250 + 5

    # a minute after the last write everything has left; maps and window are gone
    assert await _usage(store, window, now + 0.03 + WINDOW + 1) == 0
    assert window not in store._logs


async def test_tracking_of_a_merged_window_is_capped() -> None:
    store = MemoryStateStore()
    window = "w:tokens"
    hits = [WindowHit(window, HUGE, 10)]
    await store.hit("first", hits, now=T0, window_seconds=WINDOW)
    await store.settle("first", [], 0.0, now=T0, tokens=[(window, 11)], window_seconds=WINDOW)
    count = MAX_TRACKED + 2 * EXACT_CELLS
    for i in range(count):  # never settled: e.g. real usage equal to the estimate
        await store.hit(f"r{i}", hits, now=T0 + i * 0.001, window_seconds=WINDOW)
    log = store._logs[window]
    assert len(log.tracked) <= MAX_TRACKED
    assert await _usage(store, window, T0 + count * 0.001) == 11 + 10 * count


async def test_settled_reservations_do_not_pile_up() -> None:
    from literllm.state.base import Cap
    from literllm.state.memory import MemoryStateStore

    store = MemoryStateStore()
    caps = [Cap("key:k", 1_000_000.0), Cap("global", 1_000_000.0)]
    for i in range(50_000):
        outcome = await store.reserve(
            f"r{i}", caps, 0.01, now=float(i), expires_at=i + 660.0, enforce=True
        )
        assert outcome.reserved
        await store.settle(f"r{i}", ["key:k", "global"], 0.01, now=float(i), window_seconds=60)
    assert len(store._expiries) <= 1024 + 2
    assert store._held == {} and store._caps_of == {}
    spend = await store.spend()
    assert abs(spend["global"] - 500.0) < 1e-6


async def test_reservations_that_never_expire_are_not_scheduled() -> None:
    import math

    from literllm.state.base import Cap
    from literllm.state.memory import MemoryStateStore

    store = MemoryStateStore()
    cap = [Cap("global", 1.0)]
    assert (await store.reserve("a", cap, 0.6, now=0.0, expires_at=math.inf, enforce=True)).reserved
    assert store._expiries == []
    # held for as long as it lives, however late it is
    late = 1e12
    assert not (
        await store.reserve("b", cap, 0.6, now=late, expires_at=late + 1, enforce=True)
    ).reserved
    await store.settle("a", ["global"], 0.1, now=late, window_seconds=60)
    assert (
        await store.reserve("b", cap, 0.6, now=late, expires_at=late + 1, enforce=True)
    ).reserved


async def test_expired_reservations_free_their_caps() -> None:
    from literllm.state.base import Cap
    from literllm.state.memory import MemoryStateStore

    store = MemoryStateStore()
    cap = [Cap("global", 1.0)]
    assert (await store.reserve("a", cap, 0.8, now=0.0, expires_at=10.0, enforce=True)).reserved
    assert not (await store.reserve("b", cap, 0.5, now=5.0, expires_at=15.0, enforce=True)).reserved
    assert (await store.reserve("b", cap, 0.5, now=10.0, expires_at=20.0, enforce=True)).reserved
