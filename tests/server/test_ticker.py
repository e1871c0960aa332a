"""The shared timer behind each request's delayed actions (the disconnect watcher)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from literllm_server.ticker import Ticker


class Timers:
    """Stands in for the loop's `call_later`: the test fires the timer itself."""

    def __init__(self) -> None:
        self.pending: list[tuple[float, Callable[[], None]]] = []

    def call_later(self, delay: float, callback: Callable[[], None], *args: Any) -> object:
        self.pending.append((delay, callback))
        return object()

    def fire(self) -> None:
        _, callback = self.pending.pop(0)
        callback()


@pytest.fixture
async def timers(monkeypatch: pytest.MonkeyPatch) -> Timers:
    fake = Timers()
    monkeypatch.setattr(asyncio.get_running_loop(), "call_later", fake.call_later)
    return fake


async def test_an_action_runs_at_the_tick_after_next(timers: Timers) -> None:
    ran: list[str] = []
    ticker = Ticker(0.05)
    ticker.later("a", lambda: ran.append("a"))
    assert [delay for delay, _ in timers.pending] == [0.05]
    timers.fire()  # "a" is now old: at least one period has passed at the next tick
    assert ran == []
    timers.fire()
    assert ran == ["a"]


async def test_a_cancelled_action_never_runs(timers: Timers) -> None:
    ran: list[str] = []
    ticker = Ticker(0.05)
    ticker.later("young", lambda: ran.append("young"))
    ticker.later("old", lambda: ran.append("old"))
    ticker.cancel("young")
    timers.fire()
    ticker.later("other", lambda: ran.append("other"))
    ticker.cancel("old")
    timers.fire()
    timers.fire()
    assert ran == ["other"]
    ticker.cancel("other")  # after it ran: nothing to do


async def test_one_timer_for_many_actions_and_none_when_idle(timers: Timers) -> None:
    ran: list[int] = []
    ticker = Ticker(0.05)
    for n in range(100):
        ticker.later(n, lambda n=n: ran.append(n))
    assert len(timers.pending) == 1
    timers.fire()
    timers.fire()
    assert ran == list(range(100))
    assert timers.pending == []  # nothing left to run: the timer stopped
    ticker.later("again", lambda: ran.append(-1))
    assert len(timers.pending) == 1  # and restarts with the next action
    timers.fire()
    timers.fire()
    assert ran[-1] == -1


async def test_the_timer_keeps_running_while_actions_wait(timers: Timers) -> None:
    ran: list[str] = []
    ticker = Ticker(0.05)
    ticker.later("a", lambda: ran.append("a"))
    timers.fire()
    ticker.later("b", lambda: ran.append("b"))
    timers.fire()
    assert ran == ["a"]
    assert len(timers.pending) == 1
    timers.fire()
    assert ran == ["a", "b"]


def test_a_ticker_serves_one_loop_after_another() -> None:
    ticker = Ticker(0.001)
    for _ in range(2):

        async def run() -> bool:
            done = asyncio.Event()
            ticker.later("x", done.set)
            await asyncio.wait_for(done.wait(), 5)
            return done.is_set()

        assert asyncio.run(run())


async def test_a_failing_action_does_not_stop_the_others(
    timers: Timers, caplog: pytest.LogCaptureFixture
) -> None:
    ran: list[str] = []

    def fail() -> None:
        raise RuntimeError("boom")

    ticker = Ticker(0.05)
    ticker.later("first", fail)
    ticker.later("second", lambda: ran.append("second"))
    timers.fire()
    timers.fire()
    assert ran == ["second"]
    assert "a delayed action failed" in caplog.text
