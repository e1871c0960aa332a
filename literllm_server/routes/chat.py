"""`/v1/chat/completions` (JSON and SSE) and `/v1/embeddings`.

The client's disconnect is watched for the whole request, from the end of its body to
the last byte of the answer, streaming or not: when it goes away the request's task
is cancelled, which cancels the upstream call (or closes the upstream stream) at once;
nothing is charged but what the upstream produced (a stream's relayed chunks).

A request cancelled while its client is still there is the server stopping it (the
shutdown grace period has ended): a stream then ends with an error event and
`data: [DONE]`, a JSON request with 503, each logged once, without a traceback.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from types import TracebackType

from literllm import ChatStream, LiterLLMError, Response, ServiceUnavailableError

from ..http import (
    ROUTE_HEADERS,
    Gateway,
    Receive,
    Request,
    Send,
    json_body,
    route_scrubbed,
    send_error,
    send_response,
)
from ..ticker import Ticker

__all__ = ["DisconnectWatch", "chat_completions", "embeddings", "stream_sse"]

log = logging.getLogger("literllm.server")

_SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]
_DONE = b"data: [DONE]\n\n"


WATCH_AFTER_SECS = 0.1
"""The watcher task starts at most this long into a request: most JSON answers are sent
before, at the cost of an entry in the app's `Ticker` instead of a task, and a
disconnect is still acted on within this delay (the server has recorded it by then)."""


class DisconnectWatch:
    """Cancels the current task when the client disconnects (one watcher task, started
    `WATCH_AFTER_SECS` into the request; with the app's `ticker`, half to one
    `WATCH_AFTER_SECS` into it, without a timer of its own). A context manager, plain
    (`with`) or async."""

    __slots__ = (
        "_receive",
        "_start",
        "_task",
        "_ticker",
        "_watcher",
        "answered",
        "gone",
        "stopped",
    )

    def __init__(self, receive: Receive, ticker: Ticker | None = None) -> None:
        self.gone = False
        self.answered = False
        """The answer's last byte is sent: the server reports a disconnect from then on,
        and what is left (settling a stream's usage) must not be cancelled."""
        self.stopped = False
        """Cancelled with the client still there: the server is stopping us."""
        self._task = asyncio.current_task()
        self._receive = receive
        self._watcher: asyncio.Task[None] | None = None
        self._ticker = ticker
        self._start: asyncio.TimerHandle | None = None
        if ticker is not None:
            ticker.later(self, self._begin)
        else:
            self._start = asyncio.get_running_loop().call_later(WATCH_AFTER_SECS, self._begin)

    def _begin(self) -> None:
        self._watcher = asyncio.create_task(self._watch(self._receive))

    async def _watch(self, receive: Receive) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        if self.answered:
            return
        self.gone = True
        if self._task is not None:
            self._task.cancel()

    def __enter__(self) -> DisconnectWatch:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        if self._ticker is not None:
            self._ticker.cancel(self)
        elif self._start is not None:
            self._start.cancel()
        if self._watcher is not None:
            self._watcher.cancel()
        if kind is None:
            return False
        if issubclass(kind, asyncio.CancelledError):
            if self.gone and self._task is not None:
                self._task.uncancel()
                return True  # nobody to answer
            return False
        return issubclass(kind, OSError)  # the client went away

    # Leaving the watch awaits nothing: `with` does, without two coroutines per request.
    async def __aenter__(self) -> DisconnectWatch:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        return self.__exit__(kind, value, tb)


def _stopping() -> ServiceUnavailableError:
    return ServiceUnavailableError(
        "the gateway is shutting down and its grace period for running requests ended; "
        "retry the request",
        code="shutting_down",
    )


async def chat_completions(app: Gateway, request: Request, receive: Receive, send: Send) -> None:
    raw = await json_body(request, receive, app.limit, app.read_timeout)
    with DisconnectWatch(receive, app.ticker) as watch:
        try:
            answer = await app.proxy.chat_completions(
                raw, api_key=request.api_key(), headers=request.headers, outcome=request.outcome
            )
        except asyncio.CancelledError:
            if watch.gone:
                raise
            await _stopped_before_answer(watch, request, send)
            return
        if isinstance(answer, Response):
            await send_response(
                send, answer.status, answer.body, route_scrubbed(app, answer.headers)
            )
        else:
            await stream_sse(
                answer,
                receive,
                send,
                scrub=app.scrub,
                scrub_route=app.scrub_route,
                watch=watch,
                request_id=request.request_id,
            )


async def embeddings(app: Gateway, request: Request, receive: Receive, send: Send) -> None:
    raw = await json_body(request, receive, app.limit, app.read_timeout)
    with DisconnectWatch(receive, app.ticker) as watch:
        try:
            response = await app.proxy.embeddings(
                raw, api_key=request.api_key(), headers=request.headers, outcome=request.outcome
            )
        except asyncio.CancelledError:
            if watch.gone:
                raise
            await _stopped_before_answer(watch, request, send)
            return
        await send_response(
            send, response.status, response.body, route_scrubbed(app, response.headers)
        )


async def _stopped_before_answer(watch: DisconnectWatch, request: Request, send: Send) -> None:
    task = asyncio.current_task()
    if task is not None:
        task.uncancel()
    watch.stopped = True
    log.warning("request %s stopped at shutdown before it was answered", request.request_id)
    await send_error(send, _stopping())


def _frame_chunks(batch: list[bytes]) -> bytes:
    return b"data: " + b"\n\ndata: ".join(batch) + b"\n\n"


def _error_chunk(error: LiterLLMError, _events: int) -> bytes:
    return b"data: " + error.to_json() + b"\n\n"


async def stream_sse(
    stream: ChatStream,
    receive: Receive,
    send: Send,
    *,
    frame: Callable[[list[bytes]], bytes] = _frame_chunks,
    error_event: Callable[[LiterLLMError, int], bytes] = _error_chunk,
    done: bytes = _DONE,
    scrub: Callable[[str], str] | None = None,
    watch: DisconnectWatch | None = None,
    request_id: str = "-",
    scrub_route: Callable[[str], str] | None = None,
) -> None:
    """Relay `stream` as server-sent events. Chat chunks by default; other protocols
    pass `frame` (a batch to bytes), `error_event` (an error after `n` events) and
    `done` (the closing bytes, may be empty). `scrub` takes secrets out of error events
    and route headers (`scrub_route`, when given, out of route headers: the app's
    remembers clean values); `watch` is the request's disconnect watch (one is started
    here when the route has none)."""
    route = scrub_route if scrub_route is not None else scrub
    if watch is None:
        with DisconnectWatch(receive) as own:
            await _relay(stream, send, frame, error_event, done, scrub, route, own, request_id)
    else:
        await _relay(stream, send, frame, error_event, done, scrub, route, watch, request_id)


async def _relay(
    stream: ChatStream,
    send: Send,
    frame: Callable[[list[bytes]], bytes],
    error_event: Callable[[LiterLLMError, int], bytes],
    done: bytes,
    scrub: Callable[[str], str] | None,
    scrub_route: Callable[[str], str] | None,
    watch: DisconnectWatch,
    request_id: str,
) -> None:
    headers = list(_SSE_HEADERS)
    for k, v in stream.headers.items():
        if scrub_route is not None and k in ROUTE_HEADERS:
            v = scrub_route(v)
        headers.append((k.encode("latin-1"), v.encode("latin-1")))
    events = 0

    async def send_error_event(error: LiterLLMError) -> None:
        body = error_event(error, events)
        if scrub is not None:
            body = scrub(body.decode()).encode()
        await send({"type": "http.response.body", "more_body": True, "body": body})

    try:
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        try:
            async for batch in stream.batches():
                events += len(batch)
                await send({"type": "http.response.body", "body": frame(batch), "more_body": True})
        except LiterLLMError as error:
            await send_error_event(error)
        except asyncio.CancelledError:
            if watch.gone:
                raise
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
            watch.stopped = True
            await stream.aclose()  # charge what the upstream produced before answering
            log.warning(
                "stream %s ended at shutdown: the grace period for running requests ended",
                request_id,
            )
            await send_error_event(_stopping())
        await send({"type": "http.response.body", "body": done, "more_body": False})
        watch.answered = True
    finally:
        await stream.aclose()
