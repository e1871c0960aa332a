"""The issue's reference floor: uvicorn + aiohttp + msgspec, forwarding one request.

The same app as `floor.py` with one pooled aiohttp session as its client: the stack the
issue measured its floor on (0.10 ms of CPU per chat request there). The gateway no
longer uses aiohttp, so this floor is reported beside the same-client one.

    FLOOR_UPSTREAM=http://127.0.0.1:18080 \\
        uvicorn benchmarks.floor_aiohttp:app --host 127.0.0.1 --port 18084 \\
        --loop uvloop --http httptools --no-access-log --log-level warning
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import aiohttp
import msgspec

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_UPSTREAM = os.environ.get("FLOOR_UPSTREAM", "http://127.0.0.1:18080").rstrip("/")
_FORWARDED = ("authorization", "content-type")
_JSON_HEADERS = [(b"content-type", b"application/json")]
_SSE_HEADERS = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]


class _StreamFlag(msgspec.Struct):
    stream: bool = False


_decode_flag = msgspec.json.Decoder(_StreamFlag).decode


class Floor:
    def __init__(self, upstream: str) -> None:
        self._upstream = upstream
        self._session: aiohttp.ClientSession | None = None

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
                connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=None)
                self._session = aiohttp.ClientSession(
                    connector=connector, timeout=aiohttp.ClientTimeout(total=120)
                )
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._session is not None:
                    await self._session.close()
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
            await _answer(send, 400, b'{"error":{"message":"invalid JSON body"}}')
            return
        headers = {
            name.decode(): value.decode()
            for name, value in scope["headers"]
            if name.decode() in _FORWARDED
        }
        assert self._session is not None, "lifespan startup did not run"
        url = self._upstream + scope["path"]
        async with self._session.request(
            scope["method"], url, data=body, headers=headers
        ) as resp:
            if not streaming:
                await _answer(send, resp.status, await resp.read())
                return
            await send({"type": "http.response.start", "status": resp.status,
                        "headers": _SSE_HEADERS})
            async for piece in resp.content.iter_any():
                await send({"type": "http.response.body", "body": piece, "more_body": True})
            await send({"type": "http.response.body", "body": b""})


async def _answer(send: Send, status: int, payload: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": _JSON_HEADERS})
    await send({"type": "http.response.body", "body": payload})


app = Floor(_UPSTREAM)
