"""How `on_complete` / `on_error` run: at once when the method cannot suspend, else in
order by the background task; failures logged either way, never seen by the client."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import pytest

from literllm.hooks import Completion, Hook, RequestContext
from literllm.hooks.base import never_suspends
from literllm.hooks.runner import Registered
from tests.core.hooks.test_hooks_inprocess import HI, proxy
from tests.support.configs import MASTER


class Quick(Hook):
    """Records without awaiting anything: runs inline."""

    def __init__(self, fail: bool = False) -> None:
        self.seen: list[str] = []
        self.fail = fail

    async def on_complete(self, ctx: RequestContext, completion: Completion) -> None:
        if self.fail:
            raise RuntimeError("quick hook bug")
        self.seen.append(str(ctx.body["messages"][0]["content"]))


class Slow(Hook):
    """Awaits before recording: runs in the background task, inside a task."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.in_task: list[bool] = []

    async def on_complete(self, ctx: RequestContext, completion: Completion) -> None:
        async with asyncio.timeout(5):  # needs a current task
            await asyncio.sleep(0)
        self.in_task.append(asyncio.current_task() is not None)
        self.seen.append(str(ctx.body["messages"][0]["content"]))


def test_never_suspends_reads_the_method() -> None:
    class Kinds:
        async def plain(self) -> None:
            return None

        async def awaits(self) -> None:
            await asyncio.sleep(0)

        async def with_context(self) -> None:
            async with contextlib.AsyncExitStack():
                pass

        def not_async(self) -> None:
            return None

    kinds = Kinds()
    assert never_suspends(kinds.plain)
    assert not never_suspends(kinds.awaits)
    assert not never_suspends(kinds.with_context)
    assert not never_suspends(kinds.not_async)
    assert not never_suspends(print)
    assert Registered(Quick()).inline and not Registered(Slow()).inline


async def test_a_hook_that_cannot_suspend_has_run_when_the_answer_returns() -> None:
    quick = Quick()
    async with proxy(quick) as p:
        await p.chat({"model": "chat", "messages": HI}, api_key=MASTER)
        assert quick.seen == ["hi"]  # no drain needed: it ran as the request finished


async def test_awaiting_hooks_run_in_order_in_a_task() -> None:
    slow, quick = Slow(), Quick()
    async with proxy(slow, quick) as p:
        for word in ("one", "two", "three"):
            await p.chat(
                {"model": "chat", "messages": [{"role": "user", "content": word}]}, api_key=MASTER
            )
        await p.drain_hooks()
        assert slow.seen == ["one", "two", "three"]
        assert quick.seen == ["one", "two", "three"]
        assert slow.in_task == [True, True, True]


async def test_an_inline_hook_failure_is_logged_and_the_answer_stands(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with proxy(Quick(fail=True)) as p:
        with caplog.at_level(logging.ERROR, "literllm.hooks"):
            response = await p.chat({"model": "chat", "messages": HI}, api_key=MASTER)
    assert response.status == 200
    assert any("failed in on_complete" in r.getMessage() for r in caplog.records)


async def test_a_hook_that_wants_the_response_runs_in_the_background() -> None:
    class Reader(Quick):
        wants_response = True

    assert not Registered(Reader()).inline
    reader = Reader()
    async with proxy(reader) as p:
        await p.chat({"model": "chat", "messages": HI}, api_key=MASTER)
        await p.drain_hooks()
    assert reader.seen == ["hi"]
