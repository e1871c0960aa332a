"""The request's whole-duration bound over a relayed stream (`time_left`, `on_deadline`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from literllm import GatewayTimeoutError
from literllm.routing.dispatch import AttemptLog
from literllm.routing.streaming import open_chat_stream


class Decoder:
    usage = None
    model = None

    def feed(self, data: bytes) -> list[bytes]:
        return [data]

    def close(self) -> list[bytes]:
        return []


class Adapter:
    def chat_request(self, target: Any, request: Any, *, stream: bool) -> object:
        return object()

    def stream_decoder(self, target: Any, *, include_usage: bool) -> Decoder:
        return Decoder()


class Deployment:
    adapter = Adapter()
    timeout = 60.0

    async def current_target(self) -> object:
        return object()


class Upstream:
    """Sends `chunks`, then stalls for ever (`stall`) or ends."""

    def __init__(self, chunks: list[bytes], *, stall: bool) -> None:
        self._chunks = chunks
        self._stall = stall
        self.closed = False
        self.status = 200
        self.headers: dict[str, str] = {}

    async def open_stream(self, request: Any, *, timeout: float) -> Upstream:
        return self

    async def chunks(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks:
            yield chunk
        if self._stall:
            await asyncio.Event().wait()

    async def aclose(self) -> None:
        self.closed = True


class Dispatcher:
    async def run(self, model: str, routes: Any, attempt: Any, log: AttemptLog) -> Any:
        return await attempt(Deployment())


async def relay(upstream: Upstream, time_left: Any) -> tuple[list[bytes], list[Any]]:
    """The chunks relayed and what `on_done` was told; raises what the relay raises."""
    done: list[Any] = []

    async def on_done(opened: Any, error: BaseException | None) -> None:
        done.append(error)

    stream = await open_chat_stream(
        Dispatcher(),  # type: ignore[arg-type]
        upstream,  # type: ignore[arg-type]
        "m",
        [],
        {},
        include_usage=False,
        log=AttemptLog(),
        headers=lambda log: {},
        on_done=on_done,
        time_left=time_left,
        on_deadline=lambda: GatewayTimeoutError("too long", code="request_timeout"),
    )
    seen: list[bytes] = []
    try:
        async for batch in stream.batches():
            seen += batch
    finally:
        await stream.aclose()
    return seen, done


def seconds_from_now(seconds: float) -> Any:
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    return lambda: end - loop.time()


async def test_a_stream_within_its_time_is_relayed_whole() -> None:
    upstream = Upstream([b"a", b"b", b"c"], stall=False)
    seen, done = await relay(upstream, seconds_from_now(60))
    assert seen == [b"a", b"b", b"c"]
    assert done == [None]
    assert upstream.closed


async def test_a_stalled_stream_ends_at_the_deadline_with_its_error() -> None:
    upstream = Upstream([b"a", b"b"], stall=True)
    with pytest.raises(GatewayTimeoutError) as caught:
        await relay(upstream, seconds_from_now(0.05))
    assert caught.value.code == "request_timeout"
    assert upstream.closed
    task = asyncio.current_task()
    assert task is not None and task.cancelling() == 0  # the deadline's cancel was taken back


async def test_no_time_left_before_a_read_ends_the_stream_at_once() -> None:
    upstream = Upstream([b"a", b"b"], stall=True)
    with pytest.raises(GatewayTimeoutError):
        await relay(upstream, lambda: 0.0)
    assert upstream.closed


async def test_another_cancellation_during_a_read_stays_a_cancellation() -> None:
    upstream = Upstream([b"a"], stall=True)
    reading = asyncio.create_task(relay(upstream, seconds_from_now(60)))
    for _ in range(5):
        await asyncio.sleep(0)
    reading.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reading
    assert upstream.closed
