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

import aiohttp

from .floor import Floor, Send, answer, send_stream_start


class AiohttpFloor(Floor):
    """`floor.Floor` with one pooled aiohttp session as its client."""

    def __init__(self, upstream: str) -> None:
        super().__init__(upstream)
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=None)
        self._session = aiohttp.ClientSession(
            connector=connector, timeout=aiohttp.ClientTimeout(total=120)
        )

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def forward(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        body: bytes,
        streaming: bool,
        send: Send,
    ) -> None:
        assert self._session is not None, "lifespan startup did not run"
        async with self._session.request(method, url, data=body, headers=headers) as resp:
            if not streaming:
                await answer(send, resp.status, await resp.read())
                return
            await send_stream_start(send, resp.status)
            async for piece in resp.content.iter_any():
                await send({"type": "http.response.body", "body": piece, "more_body": True})
            await send({"type": "http.response.body", "body": b""})


app = AiohttpFloor(os.environ.get("FLOOR_UPSTREAM", "http://127.0.0.1:18080").rstrip("/"))
