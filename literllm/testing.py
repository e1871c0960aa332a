"""Test your routing in-process: a scriptable fake upstream and a fake clock.

    clock = FakeClock()
    upstream = FakeUpstream(clock)
    upstream.script(Reply(503), Reply(200, json={...}), url="primary.example")
    async with Proxy.from_config(config, transport=upstream, clock=clock) as proxy:
        answer = await proxy.chat(body, api_key="sk-test")
    assert [r.url for r in upstream.requests] == [...]

Requests that no script claims are answered like the built-in `mock` provider
(OpenAI wire format, echo). Nothing here opens a socket or sleeps.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import msgspec

from .errors import UpstreamError
from .transport.base import UpstreamRequest, UpstreamResponse
from .transport.errors import upstream_timeout
from .transport.mock import MockUpstream

__all__ = ["Delay", "Fail", "FakeClock", "FakeUpstream", "Gate", "Reply", "StreamReply"]

_encode = msgspec.json.Encoder().encode


class FakeClock:
    """A clock that only moves when told to; `sleep` advances it at once."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self._now = start
        self._origin = start
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self._now

    def monotonic(self) -> float:
        return self._now - self._origin

    def advance(self, seconds: float) -> None:
        self._now += seconds

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self._now += max(0.0, seconds)
        await asyncio.sleep(0)


class Reply(msgspec.Struct):
    """A complete answer. `json` is encoded for you; `body` is sent as-is."""

    status: int = 200
    json: Any = None
    body: bytes | None = None
    headers: dict[str, str] = msgspec.field(default_factory=dict)

    def response(self) -> UpstreamResponse:
        body = (
            self.body
            if self.body is not None
            else _encode(self.json)
            if self.json is not None
            else b""
        )
        headers = {"content-type": "application/json", **self.headers}
        return UpstreamResponse(self.status, headers, body)


class Gate:
    """Inside a `StreamReply`: hold the stream here until `open()` is called.

    Thread-safe, so a test driving a server in another thread can wait for
    `reached` and then `open()` the gate.
    """

    def __init__(self) -> None:
        self.reached = threading.Event()
        self._opened = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._event: asyncio.Event | None = None

    def open(self) -> None:
        self._opened.set()
        if self._loop is not None and self._event is not None:
            self._loop.call_soon_threadsafe(self._event.set)

    async def wait(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._event = asyncio.Event()
        self.reached.set()
        if not self._opened.is_set():
            await self._event.wait()


class StreamReply(msgspec.Struct):
    """A streamed answer: dicts become `data: <json>` events, bytes are sent raw,
    a `Gate` pauses, an `UpstreamError` breaks the connection there."""

    events: Sequence[Any]
    status: int = 200
    headers: dict[str, str] = msgspec.field(default_factory=dict)
    done: bool = True


class Fail(msgspec.Struct):
    """The connection fails (`connect`) or the upstream never answers (`timeout`)."""

    kind: str = "connect"


class Delay(msgspec.Struct):
    """Answer `then` after `seconds` of fake time; past the attempt's timeout, time out."""

    seconds: float
    then: Reply | StreamReply | None = None


Scripted = Reply | StreamReply | Fail | Delay


class FakeUpstream:
    """A `Transport` with scripted answers and a record of every request."""

    def __init__(self, clock: FakeClock | None = None) -> None:
        self.clock = clock
        self.requests: list[UpstreamRequest] = []
        self.timeouts: list[float] = []
        self._scripts: list[tuple[str | None, deque[Scripted]]] = []
        self._echo = MockUpstream()
        self.closed_streams = 0
        self.stream_closed = threading.Event()

    def script(self, *replies: Scripted, url: str | None = None) -> None:
        """Answer the next requests whose URL contains `url` (any, if None) in order."""
        self._scripts.append((url, deque(replies)))

    def bodies(self) -> list[Any]:
        return [msgspec.json.decode(r.body) if r.body else None for r in self.requests]

    def _next(self, request: UpstreamRequest) -> Scripted | None:
        for url, queue in self._scripts:
            if queue and (url is None or url in request.url):
                return queue.popleft()
        return None

    async def _resolve(self, request: UpstreamRequest, timeout: float) -> Scripted | None:
        self.requests.append(request)
        self.timeouts.append(timeout)
        reply = self._next(request)
        if isinstance(reply, Delay):
            if reply.seconds > timeout:
                await self._pass(timeout)
                raise upstream_timeout(request, timeout)
            await self._pass(reply.seconds)
            reply = reply.then
        if isinstance(reply, Fail):
            if reply.kind == "timeout":
                await self._pass(timeout)
                raise upstream_timeout(request, timeout)
            raise UpstreamError(
                "could not reach upstream (scripted connection failure)",
                status=502,
                retryable=True,
                code="upstream_connection_error",
            )
        return reply

    async def _pass(self, seconds: float) -> None:
        if self.clock is not None:
            self.clock.advance(seconds)
        await asyncio.sleep(0)

    async def send(self, request: UpstreamRequest, *, timeout: float) -> UpstreamResponse:
        reply = await self._resolve(request, timeout)
        if reply is None:
            return await self._echo.send(request, timeout=timeout)
        if isinstance(reply, StreamReply):
            raise AssertionError("a StreamReply was scripted for a non-streaming request")
        assert isinstance(reply, Reply)
        return reply.response()

    async def open_stream(self, request: UpstreamRequest, *, timeout: float) -> _FakeStream:
        reply = await self._resolve(request, timeout)
        if reply is None:
            stream = await self._echo.open_stream(request, timeout=timeout)
            return _FakeStream(
                self, stream.status, stream.headers, [p async for p in stream.chunks()], b""
            )
        if isinstance(reply, Reply):
            response = reply.response()
            return _FakeStream(self, response.status, response.headers, [], response.body)
        assert isinstance(reply, StreamReply)
        events: list[Any] = [
            b"data: " + _encode(e) + b"\n\n" if isinstance(e, Mapping) else e for e in reply.events
        ]
        if reply.done:
            events.append(b"data: [DONE]\n\n")
        headers = {"content-type": "text/event-stream", **reply.headers}
        return _FakeStream(self, reply.status, headers, events, b"")

    async def aclose(self) -> None:
        return None


class _FakeStream:
    def __init__(
        self,
        owner: FakeUpstream,
        status: int,
        headers: Mapping[str, str],
        events: list[Any],
        body: bytes,
    ) -> None:
        self._owner = owner
        self.status = status
        self.headers = headers
        self._events = events
        self._body = body

    async def chunks(self) -> AsyncIterator[bytes]:
        for event in self._events:
            if isinstance(event, Gate):
                await event.wait()
            elif isinstance(event, BaseException):
                raise event
            else:
                yield event
                await asyncio.sleep(0)

    async def read(self) -> bytes:
        return self._body

    async def aclose(self) -> None:
        self._owner.closed_streams += 1
        self._owner.stream_closed.set()
