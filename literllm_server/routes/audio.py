"""`/v1/audio/speech` (audio bytes relayed as they arrive), `/v1/audio/transcriptions`
and `/v1/audio/translations` (multipart forms; the answer keeps its content type:
JSON, or text for `text`, `srt` and `vtt`; transcript events as server-sent events with
`stream=true`)."""

from __future__ import annotations

import asyncio
import contextlib

import msgspec

from literllm import ChatStream, LiterLLMError, Response

from ..forms import read_form
from ..http import Gateway, Receive, Request, Send, json_body, send_bytes
from .chat import stream_sse

__all__ = ["speech", "transcriptions", "translations"]


async def speech(app: Gateway, request: Request, receive: Receive, send: Send) -> None:
    raw = await json_body(request, receive, app.limit)
    stream = await app.proxy.audio_speech(
        raw, api_key=request.api_key(), headers=request.headers, outcome=request.outcome
    )
    try:
        body = msgspec.json.decode(raw)
    except msgspec.DecodeError:  # decoded already by the proxy; cannot happen
        body = {}
    await _relay(stream, app.proxy.speech_content_type(body), receive, send)


async def transcriptions(app: Gateway, request: Request, receive: Receive, send: Send) -> None:
    app.proxy.check_api_key(request.api_key())  # before reading a stranger's upload
    form = await read_form(request, receive, app.limit)
    answer = await app.proxy.audio_transcriptions(
        form, api_key=request.api_key(), headers=request.headers, outcome=request.outcome
    )
    if isinstance(answer, Response):
        await _send(send, answer)
    else:
        await stream_sse(answer, receive, send)


async def translations(app: Gateway, request: Request, receive: Receive, send: Send) -> None:
    app.proxy.check_api_key(request.api_key())
    form = await read_form(request, receive, app.limit)
    response = await app.proxy.audio_translations(
        form, api_key=request.api_key(), headers=request.headers, outcome=request.outcome
    )
    await _send(send, response)


async def _send(send: Send, response: Response) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers.items()]
    await send_bytes(
        send, response.status, response.body, headers, response.content_type.encode("latin-1")
    )


async def _relay(stream: ChatStream, content_type: str, receive: Receive, send: Send) -> None:
    """Send the audio chunk by chunk; a client that goes away closes the upstream."""
    headers = [
        (b"content-type", content_type.encode("latin-1")),
        *((k.encode("latin-1"), v.encode("latin-1")) for k, v in stream.headers.items()),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
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
        async for chunk in stream:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    except LiterLLMError:
        # Audio has no way to carry an error once it started: end the body short.
        with contextlib.suppress(OSError, RuntimeError):
            await send({"type": "http.response.body", "body": b"", "more_body": False})
    except asyncio.CancelledError:
        if not gone or relaying is None:
            raise
        relaying.uncancel()
    except OSError:
        pass
    finally:
        watching.cancel()
        await stream.aclose()
