"""Raw asyncio HTTP servers for testing the HTTP client: the bytes on the wire are
exactly what a test writes. `serve` is a fixture (import it with `# noqa: F401`)."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field

import pytest

from literllm.errors import UpstreamError
from literllm.transport.base import StreamResponse, UpstreamRequest
from literllm.transport.client import HttpTransport

# --- the bytes a server writes ---------------------------------------------------------

LAST_CHUNK = b"0\r\n\r\n"


def response_head(status: int = 200, headers: Iterable[tuple[str, str]] = ()) -> bytes:
    lines = [f"HTTP/1.1 {status} Whatever"] + [f"{name}: {value}" for name, value in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def http_response(
    body: bytes = b"", *, status: int = 200, headers: Iterable[tuple[str, str]] = ()
) -> bytes:
    """A complete response framed by Content-Length."""
    return response_head(status, [*headers, ("Content-Length", str(len(body)))]) + body


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def chunked_head(status: int = 200, headers: Iterable[tuple[str, str]] = ()) -> bytes:
    return response_head(status, [*headers, ("Transfer-Encoding", "chunked")])


# --- a raw server ----------------------------------------------------------------------


@dataclass
class RawRequest:
    method: str
    target: str
    headers: dict[str, str]  # lower-case names; a repeated name keeps its last value
    body: bytes


@dataclass
class Peer:
    """One accepted connection, seen from the server."""

    server: RawServer
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    async def read_request(self) -> RawRequest | None:
        """The next request on this connection, or None once the client closed it."""
        try:
            head = await self.reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            self.server.received += exc.partial
            return None
        lines = head.decode("latin-1").split("\r\n")
        method, target, _version = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        body = await self.reader.readexactly(int(headers.get("content-length", "0")))
        self.server.received += head + body
        request = RawRequest(method, target, headers, body)
        self.server.requests.append(request)
        return request

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


Handler = Callable[[Peer], Awaitable[None]]


@dataclass
class RawServer:
    """Runs `handler` once per accepted connection."""

    handler: Handler
    ssl_context: ssl.SSLContext | None = None
    connections: int = 0
    requests: list[RawRequest] = field(default_factory=list)
    received: bytearray = field(default_factory=bytearray)
    port: int = 0
    _server: asyncio.Server | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _writers: list[asyncio.StreamWriter] = field(default_factory=list)

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._accept, "127.0.0.1", 0, ssl=self.ssl_context
        )
        self.port = self._server.sockets[0].getsockname()[1]

    def url(self, path: str = "/") -> str:
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.append(writer)
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self.handler(Peer(self, reader, writer))
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            self._tasks.discard(task)

    async def idle(self) -> None:
        """Wait until every connection handler has returned (the client closed them all)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=2)

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        tasks = set(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for writer in self._writers:
            writer.close()
        await self._server.wait_closed()


ServerFactory = Callable[..., Awaitable[RawServer]]


@pytest.fixture
async def serve() -> AsyncIterator[ServerFactory]:
    """`await serve(handler, ssl_context=None)` starts a server, stopped after the test."""
    servers: list[RawServer] = []

    async def start(handler: Handler, ssl_context: ssl.SSLContext | None = None) -> RawServer:
        server = RawServer(handler, ssl_context)
        await server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.stop()


@pytest.fixture
async def transport() -> AsyncIterator[HttpTransport]:
    client = HttpTransport()
    yield client
    await client.aclose()


def get(url: str, headers: dict[str, str] | None = None) -> UpstreamRequest:
    return UpstreamRequest("GET", url, headers or {})


def post(
    url: str, body: bytes = b'{"x": 1}', headers: dict[str, str] | None = None
) -> UpstreamRequest:
    return UpstreamRequest(
        "POST", url, {"content-type": "application/json", **(headers or {})}, body
    )


async def echo_target(peer: Peer) -> None:
    """Keep-alive: answer every request with its request target as the body."""
    while (request := await peer.read_request()) is not None:
        await peer.send(http_response(request.target.encode()))


async def read_all(stream: StreamResponse) -> bytes:
    return b"".join([data async for data in stream.chunks()])


def assert_connection_error(error: UpstreamError) -> None:
    assert (error.status, error.code, error.retryable) == (502, "upstream_connection_error", True)
