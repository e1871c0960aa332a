"""`/v1/chat/completions` (JSON and SSE) and `/v1/embeddings`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from literllm import ChatStream, LiterLLMError, Response

from ..http import Gateway, Receive, Request, Send, json_body, send_response

__all__ = ["chat_completions", "embeddings", "stream_sse"]

_SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]
_DONE = b"data: [DONE]\n\n"


async def chat_completions(app: Gateway, request: Request, receive: Receive, send: Send) -> None:
    raw = await json_body(request, receive, app.limit, app.read_timeout)
    answer = await app.proxy.chat_completions(
        raw, api_key=request.api_key(), headers=request.headers, outcome=request.outcome
    )
    if isinstance(answer, Response):
        await send_response(send, answer.status, answer.body, answer.headers)
    else:
        await stream_sse(answer, receive, send)


async def embeddings(app: Gateway, request: Request, receive: Receive, send: Send) -> None:
    raw = await json_body(request, receive, app.limit, app.read_timeout)
    response = await app.proxy.embeddings(
        raw, api_key=request.api_key(), headers=request.headers, outcome=request.outcome
    )
    await send_response(send, response.status, response.body, response.headers)


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
) -> None:
    """Relay `stream` as server-sent events. Chat chunks by default; other protocols
    pass `frame` (a batch to bytes), `error_event` (an error after `n` events) and
    `done` (the closing bytes, may be empty)."""
    headers = [
        *_SSE_HEADERS,
        *((k.encode("latin-1"), v.encode("latin-1")) for k, v in stream.headers.items()),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})

    async def pump() -> None:
        events = 0
        try:
            async for batch in stream.batches():
                events += len(batch)
                body = frame(batch)
                await send({"type": "http.response.body", "body": body, "more_body": True})
        except LiterLLMError as error:
            await send(
                {
                    "type": "http.response.body",
                    "more_body": True,
                    "body": error_event(error, events),
                }
            )
        await send({"type": "http.response.body", "body": done, "more_body": False})

    # The stream is relayed in this task; one watcher task cancels it if the client
    # goes away, which closes the upstream stream at once.
    relaying = asyncio.current_task()
    gone = False

    async def watch_disconnect() -> None:
        nonlocal gone
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                gone = True
                if relaying is not None:
                    relaying.cancel()
                return

    watching = asyncio.create_task(watch_disconnect())
    try:
        await pump()
    except asyncio.CancelledError:
        if not gone or relaying is None:
            raise
        relaying.uncancel()
    except OSError:
        pass
    finally:
        watching.cancel()
        await stream.aclose()
