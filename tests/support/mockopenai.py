"""The mock OpenAI upstream (`literllm.transport.mock.MockUpstream`: chat completions,
embeddings, and the Responses API with stored responses) on a real socket on
127.0.0.1, for a real `liter-llm api` process to call. Every request is recorded
(path, headers, JSON body); streams are written event by event as they are made.
`MockOpenAIServer(only=("/v1/chat/completions",))` plays an OpenAI-compatible server
that serves just those paths (an older vLLM, a local model server): 404 elsewhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from aiohttp import web

from literllm.transport.base import UpstreamRequest
from literllm.transport.mock import MockUpstream

__all__ = ["MockOpenAIServer", "Received"]


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


class MockOpenAIServer:
    def __init__(self, only: tuple[str, ...] | None = None) -> None:
        self.only = only
        self.mock = MockUpstream()
        self.requests: list[Received] = []
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def paths(self) -> list[str]:
        with self._lock:
            return [r.path for r in self.requests]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        body = json.loads(raw) if raw else {}
        with self._lock:
            self.requests.append(Received(request.path, dict(request.headers), body))
        if self.only is not None and request.path not in self.only:
            return web.json_response({"detail": "Not Found"}, status=404)
        upstream = UpstreamRequest(
            "POST", f"{self.base_url}{request.path[3:]}", dict(request.headers), raw
        )
        if not body.get("stream"):
            answer = await self.mock.send(upstream, timeout=10)
            return web.Response(
                status=answer.status,
                body=answer.body,
                headers={"content-type": answer.headers.get("content-type", "application/json")},
            )
        stream = await self.mock.open_stream(upstream, timeout=10)
        if stream.status != 200:
            return web.Response(
                status=stream.status,
                body=await stream.read(),
                headers={"content-type": "application/json"},
            )
        response = web.StreamResponse(headers={"content-type": "text/event-stream"})
        await response.prepare(request)
        async for event in stream.chunks():
            await response.write(event)
        await response.write_eof()
        return response

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        except BaseException as error:  # reported by __enter__
            self._failure = error
            self._ready.set()
        finally:
            loop.close()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_post("/v1/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await runner.cleanup()

    def __enter__(self) -> MockOpenAIServer:
        self._thread.start()
        if not self._ready.wait(10) or self._failure is not None:
            raise RuntimeError(f"mock OpenAI server did not start: {self._failure!r}")
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._loop is not None and self._stop is not None:
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)
