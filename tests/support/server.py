"""Run the real ASGI app under uvicorn on 127.0.0.1 in a background thread."""

from __future__ import annotations

import asyncio
import threading
from types import TracebackType

import uvicorn

from literllm import Proxy
from literllm_server import create_app
from literllm_server.app import App
from tests.support.closing import ClosesClients


class ServerThread(ClosesClients):
    """`track(client)`: an SDK or httpx client of this server, closed when it stops."""

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
        self.close_clients()
        self.server.should_exit = True
        self._thread.join(10)
