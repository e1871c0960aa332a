"""The bare forwarding floor: the smallest ASGI app that forwards one request upstream.

No auth, no limits, no accounting: read the body, decode it once with msgspec to learn
whether it streams, send it to the same path on the upstream with the gateway's own
HTTP client (`literllm.transport.client.HttpTransport`), and return the answer (streams
pass through chunk by chunk as they arrive). What this costs is as close to Python's
limit as a gateway can get with this stack.

    FLOOR_UPSTREAM=http://127.0.0.1:18080 \\
        uvicorn benchmarks.floor:app --host 127.0.0.1 --port 18081 \\
        --loop uvloop --http httptools --no-access-log --log-level warning
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import msgspec

from literllm.transport.base import UpstreamRequest
from literllm.transport.client import HttpTransport

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_UPSTREAM = os.environ.get("FLOOR_UPSTREAM", "http://127.0.0.1:18080").rstrip("/")
_FORWARDED = ("authorization", "content-type")
_JSON_HEADERS = [(b"content-type", b"application/json")]
_SSE_HEADERS = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]
_TIMEOUT = 120.0


class _StreamFlag(msgspec.Struct):
    stream: bool = False


_decode_flag = msgspec.json.Decoder(_StreamFlag).decode


class Floor:
    """The ASGI shell; `start`, `stop` and `forward` are the client's part."""

    def __init__(self, upstream: str) -> None:
        self._upstream = upstream
        self._client: HttpTransport | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        try:
            streaming = _decode_flag(body).stream
        except msgspec.DecodeError:
            await answer(send, 400, b'{"error":{"message":"invalid JSON body"}}')
            return
        headers = {
            name.decode(): value.decode()
            for name, value in scope["headers"]
            if name.decode() in _FORWARDED
        }
        url = self._upstream + scope["path"]
        await self.forward(scope["method"], url, headers, body, streaming, send)

    async def start(self) -> None:
        self._client = HttpTransport()

    async def stop(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    async def forward(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        body: bytes,
        streaming: bool,
        send: Send,
    ) -> None:
        assert self._client is not None, "lifespan startup did not run"
        request = UpstreamRequest(method, url, headers, body)
        if not streaming:
            response = await self._client.send(request, timeout=_TIMEOUT)
            await answer(send, response.status, response.body)
            return
        stream = await self._client.open_stream(request, timeout=_TIMEOUT)
        try:
            await send_stream_start(send, stream.status)
            async for piece in stream.chunks():
                await send({"type": "http.response.body", "body": piece, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        finally:
            await stream.aclose()


async def send_stream_start(send: Send, status: int) -> None:
    await send({"type": "http.response.start", "status": status, "headers": _SSE_HEADERS})


async def answer(send: Send, status: int, payload: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": _JSON_HEADERS})
    await send({"type": "http.response.body", "body": payload})


app = Floor(_UPSTREAM)
