"""Run the real ASGI app under uvicorn on 127.0.0.1 in a background thread."""

from __future__ import annotations

import asyncio
import threading
from types import TracebackType
from typing import Protocol, TypeVar

import uvicorn

from literllm import Proxy
from literllm_server import create_app
from literllm_server.app import App


class _Closable(Protocol):
    def close(self) -> None: ...


C = TypeVar("C", bound=_Closable)


class ServerThread:
    def __init__(self, proxy: Proxy, app: App | None = None) -> None:
        self.proxy = proxy
        self.app = app if app is not None else create_app(proxy)
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=0,
            loop="asyncio",
            http="httptools",
            lifespan="on",
            log_level="warning",
            access_log=False,
        )
        self.server = uvicorn.Server(config)
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.port = 0
        self._clients: list[_Closable] = []

    def track(self, client: C) -> C:
        """Close `client` (an SDK or httpx client of this server) when the server stops:
        left to the garbage collector, its keep-alive socket would stay open until then
        and its ResourceWarning land in whichever test runs at that moment."""
        self._clients.append(client)
        return client

    def _run(self) -> None:
        self.loop = loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(self.server.serve())
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServerThread:
        self._thread.start()
        for _ in range(500):
            if self.server.started:
                break
            self._thread.join(0.01)
        if not self.server.started:
            raise RuntimeError("server did not start")
        self.port = self.server.servers[0].sockets[0].getsockname()[1]
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for client in self._clients:
            client.close()
        self._clients.clear()
        self.server.should_exit = True
        self._thread.join(10)
