"""Reading a request body at the ASGI level: whole, in parts, stalled, cut short."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from literllm import PayloadTooLargeError, RequestTimeoutError
from literllm_server.http import Request, read_body


def request(headers: list[tuple[bytes, bytes]] | None = None) -> Request:
    scope = {"type": "http", "method": "POST", "path": "/", "headers": headers or []}
    return Request(scope, lambda: "id")


class Client:
    """An ASGI `receive` fed by the test: each message waits until it is sent."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.waits = 0
        self.cancelled = 0

    async def receive(self) -> dict[str, Any]:
        if self.queue.empty():
            self.waits += 1
        try:
            return await self.queue.get()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise

    def part(self, body: bytes, more: bool = True) -> None:
        self.queue.put_nowait({"type": "http.request", "body": body, "more_body": more})


async def test_a_body_that_has_arrived_is_read_at_once() -> None:
    client = Client()
    client.part(b'{"a":', more=True)
    client.part(b"1}", more=False)
    assert await read_body(client.receive, request(), 100, timeout=30.0) == b'{"a":1}'
    assert client.waits == 0


async def test_parts_that_arrive_later_are_awaited() -> None:
    client = Client()
    reading = asyncio.create_task(read_body(client.receive, request(), 100, timeout=30.0))
    for part in (b"one ", b"two ", b"three"):
        await asyncio.sleep(0)
        assert not reading.done()
        client.part(part)
    await asyncio.sleep(0)
    client.part(b"", more=False)
    assert await reading == b"one two three"
    assert client.waits == 4


async def test_a_client_that_goes_away_while_awaited_ends_the_request() -> None:
    client = Client()
    reading = asyncio.create_task(read_body(client.receive, request(), 100, timeout=30.0))
    await asyncio.sleep(0)
    client.queue.put_nowait({"type": "http.disconnect"})
    with pytest.raises(ConnectionResetError):
        await reading


async def test_cancelling_a_waiting_read_cancels_its_receive() -> None:
    client = Client()
    reading = asyncio.create_task(read_body(client.receive, request(), 100, timeout=30.0))
    await asyncio.sleep(0)
    reading.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reading
    assert client.cancelled == 1


async def test_a_stalled_body_is_a_408() -> None:
    client = Client()
    client.part(b"first part arrives")
    with pytest.raises(RequestTimeoutError) as caught:
        await read_body(client.receive, request(), 100, timeout=0.01)
    assert caught.value.status == 408
    assert client.waits == 1
    assert client.cancelled == 1


async def test_a_body_past_the_limit_is_a_413_whether_declared_or_sent() -> None:
    declared = request([(b"content-length", b"101")])
    with pytest.raises(PayloadTooLargeError):
        await read_body(Client().receive, declared, 100, timeout=30.0)
    client = Client()
    client.part(b"x" * 60)
    client.part(b"x" * 60, more=False)
    with pytest.raises(PayloadTooLargeError):
        await read_body(client.receive, request(), 100, timeout=30.0)
