"""Open an upstream chat stream with failover until the first chunk, then relay it.

Chunks are handed on as soon as the provider's bytes complete them: nothing is
buffered beyond one partial SSE event.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
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

    async def relay() -> AsyncGenerator[list[bytes], None]:
        """One batch of chunks per upstream read: what arrived together leaves together."""
        error: BaseException | None = None
        rest = opened.rest
        try:
            yield opened.first
            while True:
                if time_left is None:
                    data = await anext(rest, None)
                else:
                    left = time_left()
                    try:
                        if left <= 0:
                            raise TimeoutError
                        async with asyncio.timeout(left):
                            data = await anext(rest, None)
                    except TimeoutError:
                        raise (on_deadline() if on_deadline else TimeoutError()) from None
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
