"""The httptools transport against raw asyncio servers on 127.0.0.1.

Each server is a plain `asyncio.start_server` callback, so the bytes on the wire are
exactly what a test writes: keep-alive, `Connection: close`, chunked, close-delimited,
gzip, truncated and malformed responses. The server counts the connections it accepted
and records every request it read, which is how pooling is observed.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gzip
import ssl
import subprocess
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from literllm.errors import UpstreamError
from literllm.http_transport import HttpTransport, proxies_from
from literllm.transport import StreamResponse, UpstreamRequest

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


# --- plain exchanges -------------------------------------------------------------------


async def test_send_returns_status_lower_case_headers_and_body(
    serve: ServerFactory, transport: HttpTransport
) -> None:
    async def answer(peer: Peer) -> None:
        await peer.read_request()
        headers = [("Content-Type", "application/json"), ("X-Multi", "a"), ("X-Multi", "b")]
        await peer.send(http_response(b'{"ok": true}', status=201, headers=headers))

    server = await serve(answer)
    response = await transport.send(post(server.url("/answer")), timeout=5)
    assert response.status == 201 and response.body == b'{"ok": true}'
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-multi"] == "a, b"
    assert response.headers["content-length"] == "12"


async def test_error_status_is_returned_not_raised(
    serve: ServerFactory, transport: HttpTransport
) -> None:
    async def limited(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(
            http_response(b'{"error": "slow down"}', status=429, headers=[("Retry-After", "3")])
        )

    server = await serve(limited)
    response = await transport.send(post(server.url("/x")), timeout=5)
    assert response.status == 429 and response.body == b'{"error": "slow down"}'
    assert response.headers["retry-after"] == "3"


async def test_request_line_and_headers_on_the_wire(
    serve: ServerFactory, transport: HttpTransport
) -> None:
    server = await serve(echo_target)
    body = b'{"model": "m", "messages": []}'
    request = post(server.url("/v1/x?api-version=2024-01-01"), body, {"api-key": "k-123"})
    response = await transport.send(request, timeout=5)
    assert response.body == b"/v1/x?api-version=2024-01-01"
    [seen] = server.requests
    assert (seen.method, seen.target) == ("POST", "/v1/x?api-version=2024-01-01")
    assert seen.headers["host"] == f"127.0.0.1:{server.port}"
    assert seen.headers["content-length"] == str(len(body)) and seen.body == body
    assert seen.headers["content-type"] == "application/json"
    assert seen.headers["api-key"] == "k-123"


async def test_default_headers_give_way_to_the_callers(
    serve: ServerFactory, transport: HttpTransport
) -> None:
    server = await serve(echo_target)
    await transport.send(post(server.url("/a")), timeout=5)
    await transport.send(post(server.url("/b"), headers={"User-Agent": "mine/1"}), timeout=5)
    first, second = server.requests
    assert first.headers["accept-encoding"] == "identity"
    assert first.headers["user-agent"].startswith("liter-llm/")
    assert second.headers["user-agent"] == "mine/1"
    assert server.received.lower().count(b"user-agent:") == 2  # one per request


async def test_framing_headers_are_the_clients_own(
    serve: ServerFactory, transport: HttpTransport
) -> None:
    server = await serve(echo_target)
    body = b'{"x": 12345}'
    framing = {"Content-Length": "3", "Host": "elsewhere.test", "Connection": "close"}
    await transport.send(post(server.url("/f"), body, framing), timeout=5)
    await transport.send(post(server.url("/g"), body), timeout=5)
    first = server.requests[0]
    assert first.body == body and first.headers["content-length"] == str(len(body))
    assert first.headers["host"] == f"127.0.0.1:{server.port}"
    assert "connection" not in first.headers
    assert server.connections == 1  # the dropped "Connection: close" did not end it


@pytest.mark.parametrize("value", ["a\r\nInjected: yes", "a\nInjected: yes", "a\rInjected: yes"])
async def test_header_value_with_cr_or_lf_is_refused_before_anything_is_sent(
    serve: ServerFactory, transport: HttpTransport, value: str
) -> None:
    server = await serve(echo_target)
    with pytest.raises((ValueError, UpstreamError)):
        await transport.send(post(server.url("/x"), headers={"x-note": value}), timeout=5)
    await transport.aclose()
    await server.idle()
    assert server.received == b""


async def test_url_userinfo_becomes_basic_authorization(
    serve: ServerFactory, transport: HttpTransport
) -> None:
    server = await serve(echo_target)
    url = f"http://user:pw@127.0.0.1:{server.port}/x"
    await transport.send(get(url), timeout=5)
    [seen] = server.requests
    assert seen.headers["authorization"] == "Basic " + base64.b64encode(b"user:pw").decode()
    assert seen.headers["host"] == f"127.0.0.1:{server.port}"
    assert seen.target == "/x"


async def test_given_authorization_wins_over_url_userinfo(
    serve: ServerFactory, transport: HttpTransport
) -> None:
    server = await serve(echo_target)
    url = f"http://user:pw@127.0.0.1:{server.port}/x"
    await transport.send(get(url, {"Authorization": "Bearer k"}), timeout=5)
    [seen] = server.requests
    assert seen.headers["authorization"] == "Bearer k"


# --- connection reuse ------------------------------------------------------------------


async def test_sequential_requests_reuse_one_connection(
    serve: ServerFactory, transport: HttpTransport
) -> None:
    server = await serve(echo_target)
    first = await transport.send(get(server.url("/1")), timeout=5)
    second = await transport.send(post(server.url("/2")), timeout=5)
    assert (first.body, second.body) == (b"/1", b"/2")
    assert server.connections == 1


async def test_connection_the_server_closed_while_idle_is_replaced(
    serve: ServerFactory, transport: HttpTransport
) -> None:
    closed = asyncio.Event()

    async def answer_once_then_close(peer: Peer) -> None:
        request = await peer.read_request()
        assert request is not None
        await peer.send(http_response(request.target.encode()))
        await peer.close()
        closed.set()

    server = await serve(answer_once_then_close)
    assert (await transport.send(get(server.url("/1")), timeout=5)).body == b"/1"
    await closed.wait()
    assert (await transport.send(get(server.url("/2")), timeout=5)).body == b"/2"
    assert server.connections == 2


async def test_connection_close_response_is_not_reused(
    serve: ServerFactory, transport: HttpTransport
) -> None:
    async def answer_then_wait_for_client_to_close(peer: Peer) -> None:
        request = await peer.read_request()
        assert request is not None
        await peer.send(http_response(request.target.encode(), headers=[("Connection", "close")]))
        # The socket stays open: the client must close it rather than send on it again.
        assert await peer.read_request() is None

    server = await serve(answer_then_wait_for_client_to_close)
    assert (await transport.send(get(server.url("/1")), timeout=5)).body == b"/1"
    assert (await transport.send(get(server.url("/2")), timeout=5)).body == b"/2"
    assert server.connections == 2


async def test_concurrent_requests_each_get_their_own_response(
    serve: ServerFactory, transport: HttpTransport
) -> None:
    server = await serve(echo_target)
    paths = [f"/r/{n}" for n in range(20)]
    for _round in range(2):
        responses = await asyncio.gather(
            *(transport.send(post(server.url(path)), timeout=5) for path in paths)
        )
        assert [response.body.decode() for response in responses] == paths
    assert server.connections <= 20  # the second round used pooled connections


async def test_no_content_response_has_an_empty_body_and_keeps_the_connection(
    serve: ServerFactory, transport: HttpTransport
) -> None:
    async def no_content(peer: Peer) -> None:
        while await peer.read_request() is not None:
            await peer.send(response_head(204))

    server = await serve(no_content)
    for _ in range(2):
        response = await transport.send(get(server.url("/x")), timeout=5)
        assert (response.status, response.body) == (204, b"")
    assert server.connections == 1


async def test_interim_100_continue_is_skipped(
    serve: ServerFactory, transport: HttpTransport
) -> None:
    async def continue_then_answer(peer: Peer) -> None:
        while (request := await peer.read_request()) is not None:
            await peer.send(response_head(100) + http_response(request.target.encode()))

    server = await serve(continue_then_answer)
    for path in ("/1", "/2"):
        response = await transport.send(post(server.url(path)), timeout=5)
        assert (response.status, response.body) == (200, path.encode())
    assert server.connections == 1


# --- body framing and encoding ---------------------------------------------------------


async def test_chunked_response_is_dechunked(
    serve: ServerFactory, transport: HttpTransport
) -> None:
    async def chunked(peer: Peer) -> None:
        while await peer.read_request() is not None:
            await peer.send(
                chunked_head() + chunk(b"hello, ") + chunk(b"chunked ") + chunk(b"world")
            )
            await peer.send(LAST_CHUNK)

    server = await serve(chunked)
    for _ in range(2):
        response = await transport.send(get(server.url("/x")), timeout=5)
        assert response.body == b"hello, chunked world"
    assert server.connections == 1


async def test_close_delimited_response_is_read_to_the_end(
    serve: ServerFactory, transport: HttpTransport
) -> None:
    async def close_delimited(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(response_head(200, [("Content-Type", "text/plain")]) + b"part 1, ")
        await peer.send(b"part 2")
        await peer.close()

    server = await serve(close_delimited)
    for _ in range(2):
        response = await transport.send(get(server.url("/x")), timeout=5)
        assert response.body == b"part 1, part 2"
    assert server.connections == 2


@pytest.mark.parametrize(
    ("coding", "compress"), [("gzip", gzip.compress), ("deflate", zlib.compress)]
)
async def test_compressed_body_is_decoded_for_send(
    serve: ServerFactory,
    transport: HttpTransport,
    coding: str,
    compress: Callable[[bytes], bytes],
) -> None:
    original = b'{"text": "' + b"compressible " * 200 + b'"}'

    async def compressed(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(http_response(compress(original), headers=[("Content-Encoding", coding)]))

    server = await serve(compressed)
    response = await transport.send(get(server.url("/x")), timeout=5)
    assert response.body == original


async def test_gzip_body_is_decoded_for_streams(
    serve: ServerFactory, transport: HttpTransport
) -> None:
    original = b"".join(b'data: {"n": %d}\n\n' % n for n in range(200))
    compressed = gzip.compress(original)
    third = len(compressed) // 3

    async def gzipped_chunks(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(chunked_head(headers=[("Content-Encoding", "gzip")]))
        for start in (0, third, 2 * third):
            end = start + third if start < 2 * third else len(compressed)
            await peer.send(chunk(compressed[start:end]))
        await peer.send(LAST_CHUNK)

    server = await serve(gzipped_chunks)
    stream = await transport.open_stream(get(server.url("/x")), timeout=5)
    try:
        assert await read_all(stream) == original
    finally:
        await stream.aclose()


# --- timeouts --------------------------------------------------------------------------


async def never_answer(peer: Peer) -> None:
    await peer.read_request()
    await asyncio.Event().wait()  # cancelled when the server stops


def assert_upstream_timeout(error: UpstreamError) -> None:
    assert (error.status, error.code, error.retryable) == (504, "upstream_timeout", True)


async def test_send_to_a_server_that_never_answers_is_a_quick_504(
    serve: ServerFactory, transport: HttpTransport
) -> None:
    server = await serve(never_answer)
    started = asyncio.get_running_loop().time()
    with pytest.raises(UpstreamError) as caught:
        await transport.send(post(server.url("/x")), timeout=0.1)
    assert asyncio.get_running_loop().time() - started < 1
    assert_upstream_timeout(caught.value)


async def test_stream_whose_headers_never_come_is_a_504(
    serve: ServerFactory, transport: HttpTransport
) -> None:
    server = await serve(never_answer)
    with pytest.raises(UpstreamError) as caught:
        await transport.open_stream(post(server.url("/x")), timeout=0.1)
    assert_upstream_timeout(caught.value)


async def test_stream_gap_longer_than_the_timeout_is_a_504(
    serve: ServerFactory, transport: HttpTransport
) -> None:
    async def one_chunk_then_silence(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(chunked_head() + chunk(b"data: 1\n\n"))
        await asyncio.Event().wait()

    server = await serve(one_chunk_then_silence)
    stream = await transport.open_stream(post(server.url("/x")), timeout=0.1)
    try:
        chunks = stream.chunks()
        assert await anext(chunks) == b"data: 1\n\n"
        with pytest.raises(UpstreamError) as caught:
            await anext(chunks)
    finally:
        await stream.aclose()
    assert_upstream_timeout(caught.value)


# --- streams ---------------------------------------------------------------------------


async def test_stream_chunks_arrive_before_the_stream_ends(
    serve: ServerFactory, transport: HttpTransport
) -> None:
    release = asyncio.Event()

    async def two_parts(peer: Peer) -> None:
        await peer.read_request()
        head = chunked_head(headers=[("Content-Type", "text/event-stream")])
        await peer.send(head + chunk(b"data: 1\n\n"))
        await release.wait()
        await peer.send(chunk(b"data: 2\n\n") + LAST_CHUNK)

    server = await serve(two_parts)
    stream = await transport.open_stream(post(server.url("/x")), timeout=5)
    try:
        assert stream.status == 200
        assert stream.headers["content-type"] == "text/event-stream"
        chunks = stream.chunks()
        assert await anext(chunks) == b"data: 1\n\n"
        release.set()
        assert b"".join([data async for data in chunks]) == b"data: 2\n\n"
    finally:
        await stream.aclose()


async def test_stream_read_returns_the_whole_body_of_an_error_status(
    serve: ServerFactory, transport: HttpTransport
) -> None:
    async def overloaded(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(
            chunked_head(529) + chunk(b'{"error": ') + chunk(b'"overloaded"}') + LAST_CHUNK
        )

    server = await serve(overloaded)
    stream = await transport.open_stream(post(server.url("/x")), timeout=5)
    try:
        assert stream.status == 529
        assert await stream.read() == b'{"error": "overloaded"}'
    finally:
        await stream.aclose()


async def test_stream_closed_early_closes_its_connection(
    serve: ServerFactory, transport: HttpTransport
) -> None:
    async def endless_stream_or_echo(peer: Peer) -> None:
        while (request := await peer.read_request()) is not None:
            if request.target != "/stream":
                await peer.send(http_response(request.target.encode()))
                continue
            await peer.send(chunked_head() + chunk(b"data: 1\n\n"))
            await asyncio.Event().wait()

    server = await serve(endless_stream_or_echo)
    stream = await transport.open_stream(post(server.url("/stream")), timeout=5)
    assert await anext(stream.chunks()) == b"data: 1\n\n"
    await stream.aclose()
    assert (await transport.send(get(server.url("/next")), timeout=5)).body == b"/next"
    assert server.connections == 2


async def test_stream_read_to_its_end_returns_its_connection_to_the_pool(
    serve: ServerFactory, transport: HttpTransport
) -> None:
    async def short_stream_or_echo(peer: Peer) -> None:
        while (request := await peer.read_request()) is not None:
            if request.target == "/stream":
                await peer.send(chunked_head() + chunk(b"data: 1\n\n") + chunk(b"data: 2\n\n"))
                await peer.send(LAST_CHUNK)
            else:
                await peer.send(http_response(request.target.encode()))

    server = await serve(short_stream_or_echo)
    stream = await transport.open_stream(post(server.url("/stream")), timeout=5)
    try:
        assert await read_all(stream) == b"data: 1\n\ndata: 2\n\n"
    finally:
        await stream.aclose()
    assert (await transport.send(get(server.url("/next")), timeout=5)).body == b"/next"
    assert server.connections == 1


async def test_large_stream_is_read_completely_by_a_slow_reader(
    serve: ServerFactory, transport: HttpTransport
) -> None:
    """More than the client buffers before it stops reading the socket, then resumes."""
    pieces = [bytes([n % 251]) * 65536 for n in range(96)]  # 6 MiB
    all_written = asyncio.Event()

    async def firehose(peer: Peer) -> None:
        await peer.read_request()
        peer.writer.write(chunked_head() + b"".join(chunk(piece) for piece in pieces))
        peer.writer.write(LAST_CHUNK)
        await peer.writer.drain()  # returns once the client has taken nearly all of it
        all_written.set()

    server = await serve(firehose)
    stream = await transport.open_stream(get(server.url("/x")), timeout=5)
    try:
        chunks = stream.chunks()
        received = bytearray(await anext(chunks))
        # Not reading: the client buffers what arrives until it pauses the socket, which
        # stalls the server if the kernel cannot hold the rest. Either way, go on after 0.2 s.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(all_written.wait(), 0.2)
        async for data in chunks:
            received += data
    finally:
        await stream.aclose()
    assert received == b"".join(pieces)


async def test_stream_cut_short_is_a_502(serve: ServerFactory, transport: HttpTransport) -> None:
    async def cut_after_one_chunk(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(chunked_head() + chunk(b"data: 1\n\n"))
        await peer.close()

    server = await serve(cut_after_one_chunk)
    stream = await transport.open_stream(post(server.url("/x")), timeout=5)
    try:
        with pytest.raises(UpstreamError) as caught:
            await read_all(stream)
    finally:
        await stream.aclose()
    assert_connection_error(caught.value)


# --- cancellation and failures ---------------------------------------------------------


async def test_cancelled_send_leaves_no_broken_connection_in_the_pool(
    serve: ServerFactory, transport: HttpTransport
) -> None:
    slow_request_arrived = asyncio.Event()
    release_slow_answer = asyncio.Event()

    async def slow_first_answer(peer: Peer) -> None:
        while (request := await peer.read_request()) is not None:
            if request.target == "/slow":
                slow_request_arrived.set()
                await release_slow_answer.wait()
            await peer.send(http_response(request.target.encode()))

    server = await serve(slow_first_answer)
    pending = asyncio.create_task(transport.send(get(server.url("/slow")), timeout=5))
    await slow_request_arrived.wait()
    pending.cancel()
    with pytest.raises(asyncio.CancelledError):
        await pending
    # The late answer is now on its way: a connection put back in the pool would hand it
    # to the next request.
    release_slow_answer.set()
    assert (await transport.send(get(server.url("/fast")), timeout=5)).body == b"/fast"
    assert (await transport.send(get(server.url("/again")), timeout=5)).body == b"/again"


def assert_connection_error(error: UpstreamError) -> None:
    assert (error.status, error.code, error.retryable) == (502, "upstream_connection_error", True)


async def test_connection_refused_is_a_retryable_502(
    serve: ServerFactory, transport: HttpTransport
) -> None:
    server = await serve(echo_target)
    url = server.url("/x")
    await server.stop()  # nothing listens on that port any more
    with pytest.raises(UpstreamError) as caught:
        await transport.send(post(url), timeout=5)
    assert_connection_error(caught.value)


async def test_malformed_response_is_a_502(serve: ServerFactory, transport: HttpTransport) -> None:
    async def garbage(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(b"garbage\r\n\r\n")
        await peer.close()

    server = await serve(garbage)
    with pytest.raises(UpstreamError) as caught:
        await transport.send(post(server.url("/x")), timeout=5)
    assert_connection_error(caught.value)


async def test_body_cut_short_is_a_502(serve: ServerFactory, transport: HttpTransport) -> None:
    async def promise_100_send_10(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(response_head(200, [("Content-Length", "100")]) + b"0123456789")
        await peer.close()

    server = await serve(promise_100_send_10)
    with pytest.raises(UpstreamError) as caught:
        await transport.send(post(server.url("/x")), timeout=5)
    assert_connection_error(caught.value)


async def test_connection_closed_without_an_answer_is_a_502(
    serve: ServerFactory, transport: HttpTransport
) -> None:
    async def hang_up(peer: Peer) -> None:
        await peer.read_request()
        await peer.close()

    server = await serve(hang_up)
    with pytest.raises(UpstreamError) as caught:
        await transport.send(post(server.url("/x")), timeout=5)
    assert_connection_error(caught.value)


# --- HTTPS -----------------------------------------------------------------------------


@pytest.fixture
def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    """A certificate for localhost and 127.0.0.1 and its key: (cert.pem, key.pem)."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost"),
            *("-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
async def tls_server(serve: ServerFactory, self_signed: tuple[Path, Path]) -> RawServer:
    cert, key = self_signed
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return await serve(echo_target, ssl_context=context)


async def test_https_to_a_server_the_context_trusts(
    tls_server: RawServer, self_signed: tuple[Path, Path]
) -> None:
    client = HttpTransport(ssl_context=ssl.create_default_context(cafile=self_signed[0]))
    try:
        first = await client.send(post(tls_server.url("/secure?q=1")), timeout=5)
        second = await client.send(get(tls_server.url("/again")), timeout=5)
    finally:
        await client.aclose()
    assert (first.status, first.body, second.body) == (200, b"/secure?q=1", b"/again")
    assert tls_server.requests[0].headers["host"] == f"127.0.0.1:{tls_server.port}"
    assert tls_server.connections == 1


async def test_https_default_context_refuses_a_self_signed_server(
    tls_server: RawServer, transport: HttpTransport
) -> None:
    with pytest.raises(UpstreamError) as caught:
        await transport.send(get(tls_server.url("/x")), timeout=5)
    assert_connection_error(caught.value)
    assert tls_server.requests == []


# --- proxies ---------------------------------------------------------------------------


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()


def tunnelling_proxy(answer: bytes = b"HTTP/1.1 200 Connection established\r\n\r\n") -> Handler:
    """A proxy that accepts `CONNECT host:port` and then pipes bytes both ways."""
    seen: list[str] = []

    async def handle(peer: Peer) -> None:
        head = (await peer.reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        peer.server.received += head.encode("latin-1")
        seen.append(head)
        method, authority, _ = head.split("\r\n")[0].split(" ")
        assert method == "CONNECT"
        await peer.send(answer)
        if not answer.startswith(b"HTTP/1.1 200"):
            return
        host, port = authority.rsplit(":", 1)
        reader, writer = await asyncio.open_connection(host, int(port))
        await asyncio.gather(pipe(peer.reader, writer), pipe(reader, peer.writer))

    return handle


async def test_https_goes_through_a_connect_tunnel(
    serve: ServerFactory, tls_server: RawServer, self_signed: tuple[Path, Path]
) -> None:
    proxy = await serve(tunnelling_proxy())
    client = HttpTransport(
        ssl_context=ssl.create_default_context(cafile=self_signed[0]),
        proxies={"https": f"http://user:p%40ss@127.0.0.1:{proxy.port}"},
    )
    try:
        first = await client.send(post(tls_server.url("/v1/chat")), timeout=5)
        second = await client.send(post(tls_server.url("/v1/again")), timeout=5)
    finally:
        await client.aclose()
    assert (first.body, second.body) == (b"/v1/chat", b"/v1/again")
    head = bytes(proxy.received).decode("latin-1")
    assert head.startswith(f"CONNECT 127.0.0.1:{tls_server.port} HTTP/1.1\r\n")
    assert "proxy-authorization: Basic dXNlcjpwQHNz\r\n" in head  # user:p@ss
    assert proxy.connections == 1 and tls_server.connections == 1  # one tunnel, reused


async def test_plain_http_goes_to_the_proxy_in_absolute_form(serve: ServerFactory) -> None:
    proxy = await serve(echo_target)  # answers as if it had forwarded
    client = HttpTransport(proxies={"http": f"127.0.0.1:{proxy.port}"})
    try:
        response = await client.send(post("http://upstream.test:8080/v1/x?y=1"), timeout=5)
    finally:
        await client.aclose()
    assert response.body == b"http://upstream.test:8080/v1/x?y=1"
    assert proxy.requests[0].headers["host"] == "upstream.test:8080"


async def test_no_proxy_hosts_are_reached_directly(serve: ServerFactory) -> None:
    origin = await serve(echo_target)
    client = HttpTransport(
        proxies={"http": "http://127.0.0.1:9", "no": "localhost, 127.0.0.1:8080"}
    )
    try:
        response = await client.send(post(origin.url("/direct")), timeout=5)
    finally:
        await client.aclose()
    assert response.body == b"/direct"


async def test_a_proxy_that_refuses_the_tunnel_is_a_retryable_502(
    serve: ServerFactory, tls_server: RawServer
) -> None:
    proxy = await serve(tunnelling_proxy(b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n"))
    client = HttpTransport(proxies={"https": f"http://127.0.0.1:{proxy.port}"})
    try:
        with pytest.raises(UpstreamError) as caught:
            await client.send(post(tls_server.url("/x")), timeout=5)
    finally:
        await client.aclose()
    assert_connection_error(caught.value)
    assert tls_server.requests == []


def test_proxies_come_from_the_environment_lower_case_first() -> None:
    environ = {
        "HTTPS_PROXY": "http://upper:3128",
        "https_proxy": "http://lower:3128",
        "HTTP_PROXY": "http://plain:3128",
        "NO_PROXY": ".internal,localhost",
    }
    assert proxies_from(environ) == {
        "http": "http://plain:3128",
        "https": "http://lower:3128",
        "no": ".internal,localhost",
    }
    assert proxies_from({}) == {}


def test_only_http_proxies_are_accepted_and_their_password_is_not_shown() -> None:
    with pytest.raises(ValueError, match="only http:// proxies") as caught:
        HttpTransport(proxies={"https": "https://user:hunter2@proxy.test:443"})
    assert "hunter2" not in str(caught.value)


def test_a_gateway_with_an_unusable_proxy_environment_does_not_start() -> None:
    from literllm import Proxy
    from literllm.config import load_config
    from literllm.errors import ConfigError

    config = load_config(Path(__file__).parents[2] / "examples" / "quickstart.toml")
    with pytest.raises(ConfigError, match="only http:// proxies") as caught:
        Proxy(config, environ={"HTTPS_PROXY": "https://user:hunter2@proxy.test"})
    assert "hunter2" not in str(caught.value)
