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
import zlib
from collections.abc import Callable

import pytest

from literllm.errors import UpstreamError
from literllm.transport.client import HttpTransport
from tests.support.rawhttp import (
    LAST_CHUNK,
    Peer,
    ServerFactory,
    assert_connection_error,
    chunk,
    chunked_head,
    echo_target,
    get,
    http_response,
    post,
    read_all,
    response_head,
)

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


async def test_a_call_in_flight_when_the_transport_closes_leaves_no_connection_open(
    serve: ServerFactory, transport: HttpTransport
) -> None:
    # A call still connecting (or waiting for its answer) when aclose() runs ends after
    # it: its connection must be closed then, not kept idle in a pool nobody will close.
    hung_up = asyncio.Event()

    async def echo_then_note_the_hang_up(peer: Peer) -> None:
        await echo_target(peer)
        hung_up.set()

    server = await serve(echo_then_note_the_hang_up)
    pending = asyncio.create_task(transport.send(get(server.url("/late")), timeout=5))
    await asyncio.sleep(0)  # the call has its slot and is connecting
    await transport.aclose()
    assert (await pending).body == b"/late"
    await asyncio.wait_for(hung_up.wait(), 5)
    assert transport._pool.total == 0
    # a transport used again after aclose() pools connections as before
    assert (await transport.send(get(server.url("/a")), timeout=5)).body == b"/a"
    assert (await transport.send(get(server.url("/b")), timeout=5)).body == b"/b"
    assert server.connections == 2
    assert transport._pool.total == 1


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
