"""Open an upstream chat stream with failover until the first chunk, then relay it.

Chunks are handed on as soon as the provider's bytes complete them: nothing is
buffered beyond one partial SSE event.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Generator
from typing import TYPE_CHECKING, Any

from ..errors import UpstreamError
from ..providers import StreamDecoder
from ..results import ChatStream
from ..transport.base import StreamResponse, Transport
from ..types import Usage
from .dispatch import AttemptLog, Dispatcher
from .inbound import Inbound
from .resolve import Route
from .router import Deployment

if TYPE_CHECKING:
    from ..operations.base import Operation

__all__ = ["OpenedStream", "open_chat_stream"]

StreamDone = Callable[["OpenedStream", BaseException | None], Awaitable[None]]
BeforeAttempt = Callable[[Deployment], Awaitable[None]]


class OpenedStream:
    """An upstream stream whose first chunks have arrived."""

    def __init__(
        self,
        deployment: Deployment,
        response: StreamResponse,
        decoder: StreamDecoder,
        first: list[bytes],
        rest: AsyncIterator[bytes],
    ) -> None:
        self.deployment = deployment
        self.response = response
        self.decoder = decoder
        self.first = first
        self.rest = rest
        self.streamed_chunks = len(first)

    @property
    def usage(self) -> Usage | None:
        return self.decoder.usage


async def _open(
    transport: Transport,
    deployment: Deployment,
    request: dict[str, Any],
    include_usage: bool,
    before: BeforeAttempt | None,
    timeout_for: Callable[[Deployment], float] | None,
    inbound: Inbound | None,
    operation: Operation | None,
) -> OpenedStream:
    if before is not None:
        await before(deployment)
    target = await deployment.current_target()
    adapter = deployment.adapter
    if inbound is not None:
        inbound.begin(deployment)
        upstream = inbound.request(adapter, target, stream=True)
    elif operation is not None:
        upstream = operation.request(adapter, target, dict(request), stream=True)
    else:
        upstream = adapter.chat_request(target, dict(request), stream=True)
    timeout = timeout_for(deployment) if timeout_for is not None else deployment.timeout
    response = await transport.open_stream(upstream, timeout=timeout)
    # An inbound protocol may ask once more in another form, within this attempt
    # (nothing has reached the client yet).
    while (
        response.status >= 400
        and inbound is not None
        and inbound.retry(deployment, target, response.status)
    ):
        try:
            await response.read()
        finally:
            await response.aclose()
        upstream = inbound.request(adapter, target, stream=True)
        timeout = timeout_for(deployment) if timeout_for is not None else deployment.timeout
        response = await transport.open_stream(upstream, timeout=timeout)
    try:
        if response.status >= 400:
            body = await response.read()
            raise adapter.error(target, response.status, response.headers, body)
        decoder = (
            inbound.decoder(adapter, target)
            if inbound is not None
            else operation.stream_decoder(adapter, target, request, include_usage=include_usage)
            if operation is not None
            else adapter.stream_decoder(target, include_usage=include_usage)
        )
        chunks = response.chunks()
        first: list[bytes] = []
        try:
            async for data in chunks:
                first = decoder.feed(data)
                if first:
                    break
            else:
                first = decoder.close()
        except UpstreamError as error:
            # Nothing reached the client yet: a malformed or cut-short stream is retried
            # and falls back like the same fault in a JSON answer (which is retryable).
            if error.status == 502:
                error.retryable = True
            raise
        if not first:
            raise UpstreamError(
                f"provider {target.provider!r} ended the stream without sending anything",
                status=502,
                retryable=True,
                code="empty_stream",
            )
        return OpenedStream(deployment, response, decoder, first, chunks)
    except BaseException:
        await response.aclose()
        raise


async def open_chat_stream(
    dispatcher: Dispatcher,
    transport: Transport,
    model: str,
    routes: list[Route],
    request: dict[str, Any],
    *,
    include_usage: bool,
    log: AttemptLog,
    headers: Callable[[AttemptLog], dict[str, str]],
    on_done: StreamDone,
    before_attempt: BeforeAttempt | None = None,
    timeout_for: Callable[[Deployment], float] | None = None,
    inbound: Inbound | None = None,
    operation: Operation | None = None,
    time_left: Callable[[], float] | None = None,
    on_deadline: Callable[[], BaseException] | None = None,
) -> ChatStream:
    """Open the stream (failover until the first chunk) and relay it. `operation`: a
    non-chat operation that streams (text completions, speech). `time_left` gives the
    seconds left of the request's whole-duration bound: at zero the relay stops, closes
    the upstream and raises `on_deadline()`, whatever the upstream is doing."""
    opened = await dispatcher.run(
        model,
        routes,
        lambda d: _open(
            transport, d, request, include_usage, before_attempt, timeout_for, inbound, operation
        ),
        log,
    )
    state: dict[str, bool] = {"finished": False}
    deadline = _Deadline(time_left, on_deadline) if time_left is not None else None

    async def relay() -> AsyncGenerator[list[bytes], None]:
        """One batch of chunks per upstream read: what arrived together leaves together."""
        error: BaseException | None = None
        rest = opened.rest
        try:
            yield opened.first
            while True:
                if deadline is None:
                    data = await anext(rest, None)
                else:
                    deadline.check()
                    # A read whose bytes have arrived returns at its first step: only one
                    # that has to wait is put under the deadline's timer.
                    steps = anext(rest, None).__await__()
                    try:
                        pending = steps.send(None)
                    except StopIteration as arrived:
                        data = arrived.value
                    else:
                        deadline.waiting()
                        try:
                            data = await _Resumed(steps, pending)
                        except BaseException as exc:
                            if deadline.done_waiting() and isinstance(exc, asyncio.CancelledError):
                                raise deadline.error() from None
                            raise
                        deadline.done_waiting()
                if data is None:
                    break
                batch = opened.decoder.feed(data)
                if batch:
                    opened.streamed_chunks += len(batch)
                    yield batch
            tail = opened.decoder.close()
            if tail:
                yield tail
        except BaseException as exc:
            error = exc
            raise
        finally:
            if deadline is not None:
                deadline.close()
            if not state["finished"]:
                state["finished"] = True
                await opened.response.aclose()
                await on_done(opened, error)

    iterator = relay()

    async def close() -> None:
        await iterator.aclose()
        if not state["finished"]:
            state["finished"] = True
            await opened.response.aclose()
            await on_done(opened, None)

    return ChatStream(iterator, headers(log), close)


class _Deadline:
    """The request's whole-duration bound over a stream's upstream reads: checked before
    each read, and a read that has to wait is watched by one timer per stream (an
    `asyncio.timeout` per read cost several microseconds each): when the bound passes
    while a read waits, the timer cancels the task reading and that read ends in
    `on_deadline()`, as `asyncio.timeout` would have."""

    __slots__ = ("_cancelling", "_fired", "_handle", "_on_deadline", "_reader", "_time_left")

    def __init__(
        self, time_left: Callable[[], float], on_deadline: Callable[[], BaseException] | None
    ) -> None:
        self._time_left = time_left
        self._on_deadline = on_deadline
        self._handle: asyncio.TimerHandle | None = None
        self._reader: asyncio.Task[Any] | None = None
        """The task waiting on a read, while it does."""
        self._cancelling = 0
        self._fired = False
        """The timer cancelled `_reader`."""

    def error(self) -> BaseException:
        return self._on_deadline() if self._on_deadline is not None else TimeoutError()

    def check(self) -> None:
        """Before a read: raises `error()` when no time is left."""
        if self._time_left() <= 0:
            raise self.error()

    def waiting(self) -> None:
        """A read waits: the timer (armed once per stream) watches the task reading."""
        reader = asyncio.current_task()
        if reader is None:
            return
        self._reader = reader
        self._cancelling = reader.cancelling()
        if self._handle is None:
            left = max(self._time_left(), 0.0)
            self._handle = asyncio.get_running_loop().call_later(left, self._expire)

    def done_waiting(self) -> bool:
        """The read ended: True when the timer cancelled it and no other cancellation is
        pending (a `CancelledError` from it is then the deadline's)."""
        reader, self._reader = self._reader, None
        if not self._fired or reader is None:
            return False
        self._fired = False
        return reader.uncancel() <= self._cancelling

    def _expire(self) -> None:
        self._handle = None  # a later read arms it again if its clock says time is left
        if self._reader is not None:
            self._fired = True
            self._reader.cancel()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None


class _Resumed:
    """The rest of an awaitable whose first step (`send(None)`) has run and yielded
    `pending` (what its task must wait for): awaiting this relays every later step, as
    `yield from` would have. (The server has the same helper: it uses only the core's
    public API.)"""

    __slots__ = ("_pending", "_steps")

    def __init__(self, steps: Generator[Any, Any, Any], pending: Any) -> None:
        self._steps = steps
        self._pending = pending

    def __await__(self) -> Generator[Any, Any, Any]:
        steps, pending = self._steps, self._pending
        while True:
            try:
                sent = yield pending
            except GeneratorExit:
                steps.close()
                raise
            except BaseException as error:  # cancellation included: the awaitable decides
                try:
                    pending = steps.throw(error)
                except StopIteration as done:
                    return done.value
                continue
            try:
                pending = steps.send(sent)
            except StopIteration as done:
                return done.value
