"""The HTTP client against misbehaving upstreams: raw asyncio servers on 127.0.0.1 that
write exactly the bytes each test chooses.

First the defects of issue 14, one section each (numbered as there); then the behaviour
two reviews found right (TLS verification, SNI, header injection, timeouts, strict
framing, proxies, redirects), kept here so it stays right. The package docstring of
`literllm.transport` names these tests as the proof of its invariants.
"""

from __future__ import annotations

import asyncio
import gc
import gzip
import logging
import ssl
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from literllm import Proxy
from literllm.errors import UpstreamError
from literllm.testing import FakeClock
from literllm.transport.base import UpstreamRequest
from literllm.transport.client import HttpTransport
from literllm.transport.wire import MAX_HEADER_BYTES, MAX_HEADERS, PAUSE_ABOVE
from tests.support.configs import MASTER, config
from tests.support.paths import REPO
from tests.support.rawhttp import (
    LAST_CHUNK,
    Handler,
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

CHAT_ANSWER = (
    b'{"id": "c1", "object": "chat.completion", "created": 1, "model": "gpt-4o",'
    b' "choices": [{"index": 0, "message": {"role": "assistant", "content": "fine"},'
    b' "finish_reason": "stop"}], "usage": {"prompt_tokens": 1, "completion_tokens": 1,'
    b' "total_tokens": 2}}'
)


def answer_each(first: bytes) -> Handler:
    """A server whose very first request gets `first`; every later one, on any
    connection, gets its request target back (keep-alive)."""
    answered = False

    async def handler(peer: Peer) -> None:
        nonlocal answered
        while (request := await peer.read_request()) is not None:
            if answered:
                await peer.send(http_response(request.target.encode()))
            else:
                answered = True
                await peer.send(first)

    return handler


# --- 1. bytes after a complete response ----------------------------------------------


async def test_bytes_after_a_complete_body_are_dropped_with_the_connection(
    serve: ServerFactory, transport: HttpTransport
) -> None:
    smuggled = http_response(b"hello") + b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nEVIL"
    server = await serve(answer_each(smuggled))
    first = await transport.send(get(server.url("/1")), timeout=5)
    second = await transport.send(get(server.url("/2")), timeout=5)
    assert (first.body, second.body) == (b"hello", b"/2")
    assert server.connections == 2  # the first connection was not reused


async def test_a_second_response_in_the_same_segment_never_reaches_anyone(
    serve: ServerFactory, transport: HttpTransport
) -> None:
    smuggled = response_head(204) + http_response(b"EVIL", status=200)
    server = await serve(answer_each(smuggled))
    first = await transport.send(get(server.url("/1")), timeout=5)
    assert (first.status, first.body) == (204, b"")
    second = await transport.send(get(server.url("/2")), timeout=5)
    assert (second.status, second.body) == (200, b"/2")
    assert server.connections == 2


async def test_a_response_after_the_end_of_a_stream_is_not_appended_to_it(
    serve: ServerFactory, transport: HttpTransport
) -> None:
    events = chunk(b"data: 1\n\n") + chunk(b"data: [DONE]\n\n") + LAST_CHUNK
    injected = chunked_head() + chunk(b"data: INJECTED\n\n") + LAST_CHUNK
    sse = [("Content-Type", "text/event-stream")]
    server = await serve(answer_each(chunked_head(headers=sse) + events + injected))
    stream = await transport.open_stream(post(server.url("/s")), timeout=5)
    try:
        assert await read_all(stream) == b"data: 1\n\ndata: [DONE]\n\n"
    finally:
        await stream.aclose()
    assert (await transport.send(get(server.url("/2")), timeout=5)).body == b"/2"
    assert server.connections == 2


@pytest.mark.parametrize("extra", [b"\r\n", b"\n", b"\r\n\r\n"])
async def test_even_empty_lines_after_a_response_end_the_connection(
    serve: ServerFactory, transport: HttpTransport, extra: bytes
) -> None:
    answer = chunked_head() + chunk(b"ok") + LAST_CHUNK + extra
    server = await serve(answer_each(answer))
    assert (await transport.send(get(server.url("/1")), timeout=5)).body == b"ok"
    assert (await transport.send(get(server.url("/2")), timeout=5)).body == b"/2"
    assert server.connections == 2


async def test_bytes_arriving_on_an_idle_connection_end_it(
    serve: ServerFactory, transport: HttpTransport
) -> None:
    async def answer_then_push(peer: Peer) -> None:
        if peer.server.connections > 1:
            await echo_target(peer)
            return
        await peer.read_request()
        await peer.send(http_response(b"one"))
        await asyncio.sleep(0.05)
        await peer.send(http_response(b"unasked"))
        while (request := await peer.read_request()) is not None:
            await peer.send(http_response(request.target.encode()))

    server = await serve(answer_then_push)
    assert (await transport.send(get(server.url("/1")), timeout=5)).body == b"one"
    await asyncio.sleep(0.2)
    assert (await transport.send(get(server.url("/2")), timeout=5)).body == b"/2"
    assert server.connections == 2


# --- 2, 3. header block caps ---------------------------------------------------------


async def test_a_header_block_that_never_ends_is_refused_at_the_cap(
    serve: ServerFactory, transport: HttpTransport
) -> None:
    sent = 0

    async def endless_headers(peer: Peer) -> None:
        nonlocal sent
        await peer.read_request()
        await peer.send(b"HTTP/1.1 200 OK\r\n")
        line = b"X-Filler: " + b"a" * 1000 + b"\r\n"
        while sent < 64 * MAX_HEADER_BYTES:
            await peer.send(line * 16)
            sent += len(line) * 16

    server = await serve(endless_headers)
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(UpstreamError) as caught:
        await transport.send(get(server.url("/x")), timeout=30)
    assert_connection_error(caught.value)
    assert f"header block over {MAX_HEADER_BYTES} bytes" in caught.value.message
    assert loop.time() - started < 10  # refused at the cap, not at the timeout


async def test_one_huge_header_is_refused_quickly(
    serve: ServerFactory, transport: HttpTransport
) -> None:
    async def huge_header(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(b"HTTP/1.1 200 OK\r\nX-Huge: ")
        for _ in range(64):  # up to 64 MiB, 1 MiB a write
            await peer.send(b"a" * (1 << 20))

    server = await serve(huge_header)
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(UpstreamError) as caught:
        await transport.send(get(server.url("/x")), timeout=30)
    assert_connection_error(caught.value)
    assert loop.time() - started < 5


async def test_too_many_header_lines_are_refused(
    serve: ServerFactory, transport: HttpTransport
) -> None:
    many = [(f"X-{n}", "v") for n in range(MAX_HEADERS + 1)]
    server = await serve(answer_each(http_response(b"x", headers=many)))
    with pytest.raises(UpstreamError) as caught:
        await transport.send(get(server.url("/x")), timeout=5)
    assert_connection_error(caught.value)


async def test_a_header_block_at_the_line_cap_is_accepted(
    serve: ServerFactory, transport: HttpTransport
) -> None:
    enough = [(f"X-{n}", "v") for n in range(MAX_HEADERS - 2)]
    server = await serve(answer_each(http_response(b"x", headers=enough)))
    response = await transport.send(get(server.url("/x")), timeout=5)
    assert response.body == b"x" and response.headers["x-0"] == "v"


# --- 4. parser exceptions, an unrequested 101 -----------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\nx",
        b"HTTP/1.1 101 Switching Protocols\r\n\r\n",
    ],
)
async def test_an_unrequested_101_is_a_retryable_502(
    serve: ServerFactory,
    transport: HttpTransport,
    answer: bytes,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def always(peer: Peer) -> None:
        while await peer.read_request() is not None:
            await peer.send(answer)

    server = await serve(always)
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        with pytest.raises(UpstreamError) as caught:
            await transport.send(post(server.url("/x")), timeout=5)
        stream_error = None
        try:
            await transport.open_stream(post(server.url("/x")), timeout=5)
        except UpstreamError as exc:
            stream_error = exc
    assert_connection_error(caught.value)
    assert stream_error is not None
    assert_connection_error(stream_error)
    assert not [r for r in caplog.records if r.name == "asyncio"]


def two_deployments(first: str, second: str, extra: str = "") -> str:
    return f"""
[general]
master_key = "{MASTER}"
max_retries = 1

[[models]]
name = "gpt"
provider_model = "openai/gpt-4o"
api_key = "sk-first-0001"
base_url = "{first}"

[[models]]
name = "gpt"
provider_model = "openai/gpt-4o"
api_key = "sk-second-0002"
base_url = "{second}"
{extra}"""


async def test_through_proxy_a_101_fails_over_to_the_next_deployment(
    serve: ServerFactory,
) -> None:
    async def switching(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\n"
        )

    async def fine(peer: Peer) -> None:
        while await peer.read_request() is not None:
            await peer.send(
                http_response(CHAT_ANSWER, headers=[("Content-Type", "application/json")])
            )

    bad, good = await serve(switching), await serve(fine)
    toml = two_deployments(
        bad.url("/v1"), good.url("/v1"), '\n[routing]\nstrategy = "round_robin"\n'
    )
    body = {"model": "gpt", "messages": [{"role": "user", "content": "hi"}]}
    async with Proxy.from_config(config(toml), environ={}, clock=FakeClock()) as gateway:
        for _ in range(2):  # round robin: one of the two starts at the 101 server
            answer = await gateway.chat(body, api_key=MASTER)
            assert answer.json()["choices"][0]["message"]["content"] == "fine"
    assert len(bad.requests) >= 1


# --- 5, 6. never resend; idle connections expire --------------------------------------


async def test_a_post_is_never_sent_twice_when_a_reused_connection_closes(
    serve: ServerFactory, transport: HttpTransport
) -> None:
    async def read_second_then_close(peer: Peer) -> None:
        request = await peer.read_request()
        assert request is not None
        await peer.send(http_response(b"first"))
        await peer.read_request()  # read it ... and close without an answer
        await peer.close()

    server = await serve(read_second_then_close)
    assert (await transport.send(post(server.url("/1")), timeout=5)).body == b"first"
    with pytest.raises(UpstreamError) as caught:
        await transport.send(post(server.url("/2"), b'{"charge": 1}'), timeout=5)
    assert_connection_error(caught.value)
    assert [r.target for r in server.requests] == ["/1", "/2"]  # /2 written once


async def test_idle_connections_expire_after_the_idle_timeout(serve: ServerFactory) -> None:
    clock = FakeClock()
    transport = HttpTransport(clock=clock, idle_timeout=15)
    server = await serve(echo_target)
    try:
        await transport.send(get(server.url("/1")), timeout=5)
        clock.advance(14)
        await transport.send(get(server.url("/2")), timeout=5)
        assert server.connections == 1  # still fresh: reused
        clock.advance(15)
        await transport.send(get(server.url("/3")), timeout=5)
        assert server.connections == 2  # expired: a new one
    finally:
        await transport.aclose()


async def test_a_silently_dead_pooled_connection_is_not_waited_on(serve: ServerFactory) -> None:
    """The first connection stops answering without closing (a dropped NAT entry): once
    it has been idle longer than the idle timeout, a call never picks it."""
    clock = FakeClock()
    transport = HttpTransport(clock=clock)
    dead = asyncio.Event()

    async def answer_once_then_play_dead(peer: Peer) -> None:
        if dead.is_set():
            await echo_target(peer)
            return
        request = await peer.read_request()
        assert request is not None
        await peer.send(http_response(b"alive"))
        dead.set()
        await asyncio.Event().wait()  # never reads or answers again

    server = await serve(answer_once_then_play_dead)
    try:
        assert (await transport.send(get(server.url("/1")), timeout=5)).body == b"alive"
        clock.advance(16)
        answer = await transport.send(get(server.url("/2")), timeout=2)
        assert answer.body == b"/2"
    finally:
        await transport.aclose()


# --- 7, 10. bounded inflation and response caps ---------------------------------------


async def test_a_streamed_gzip_bomb_is_inflated_only_as_the_reader_takes_it(
    serve: ServerFactory, transport: HttpTransport
) -> None:
    bomb = gzip.compress(b"\0" * (64 << 20), compresslevel=9)  # ~64 KiB -> 64 MiB

    async def bomb_stream(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(chunked_head(headers=[("Content-Encoding", "gzip")]) + chunk(bomb))
        await peer.send(LAST_CHUNK)

    server = await serve(bomb_stream)
    stream = await transport.open_stream(get(server.url("/x")), timeout=5)
    try:
        chunks = stream.chunks()
        first = await anext(chunks)
        await asyncio.sleep(0.1)  # the whole bomb has arrived by now
        connection = stream._connection
        assert connection is not None
        held = sum(len(piece) for piece in connection.body)
        assert len(first) <= PAUSE_ABOVE + 65536 and held <= PAUSE_ABOVE + 65536
        total = len(first) + sum([len(data) async for data in chunks])
    finally:
        await stream.aclose()
    assert total == 64 << 20


async def test_a_body_over_the_cap_is_refused(serve: ServerFactory) -> None:
    transport = HttpTransport(max_response_bytes=1000)
    plain = await serve(answer_each(http_response(b"x" * 1001)))
    packed = gzip.compress(b"y" * 5000)
    inflating = await serve(
        answer_each(http_response(packed, headers=[("Content-Encoding", "gzip")]))
    )
    with pytest.raises(UpstreamError) as plain_error:
        await transport.send(get(plain.url("/")), timeout=5)
    with pytest.raises(UpstreamError) as caught:
        await transport.send(get(inflating.url("/")), timeout=5)
    await transport.aclose()
    for error in (plain_error.value, caught.value):
        assert (error.status, error.code, error.retryable) == (
            502,
            "upstream_response_too_large",
            False,
        )


async def test_one_stream_event_over_the_cap_is_refused_many_small_ones_are_not(
    serve: ServerFactory,
) -> None:
    transport = HttpTransport(max_event_bytes=1000)
    sse = [("Content-Type", "text/event-stream")]

    async def stream(peer: Peer) -> None:
        while (request := await peer.read_request()) is not None:
            await peer.send(chunked_head(headers=sse))
            if request.target == "/small":
                for n in range(100):
                    await peer.send(chunk(b"data: %d%s\n" % (n, b"s" * 200)) + chunk(b"\n"))
            else:
                for _ in range(10):
                    await peer.send(chunk(b"data: " + b"b" * 200 + b"\n"))
                await peer.send(chunk(b"\n"))
            await peer.send(LAST_CHUNK)

    server = await serve(stream)
    try:
        small = await transport.open_stream(get(server.url("/small")), timeout=5)
        assert (await read_all(small)).count(b"data: ") == 100
        await small.aclose()
        big = await transport.open_stream(get(server.url("/big")), timeout=5)
        with pytest.raises(UpstreamError) as caught:
            await read_all(big)
        await big.aclose()
    finally:
        await transport.aclose()
    assert caught.value.code == "upstream_response_too_large"


async def test_the_config_caps_reach_the_transport(serve: ServerFactory) -> None:
    big = http_response(
        b'{"pad": "' + b"x" * 5000 + b'"}', headers=[("Content-Type", "application/json")]
    )
    server = await serve(answer_each(big))
    toml = f"""
[[models]]
name = "gpt"
provider_model = "openai/gpt-4o"
api_key = "sk-upstream-0001"
base_url = "{server.url("/v1")}"

[general]
master_key = "{MASTER}"
max_retries = 0

[upstream]
max_response_bytes = 4096
"""
    body = {"model": "gpt", "messages": [{"role": "user", "content": "hi"}]}
    async with Proxy.from_config(config(toml), environ={}) as gateway:
        with pytest.raises(UpstreamError) as caught:
            await gateway.chat(body, api_key=MASTER)
    assert caught.value.code == "upstream_response_too_large"


RSS_PROBE = textwrap.dedent(
    """
    import asyncio, sys, zlib
    sys.path.insert(0, sys.argv[1])
    from literllm.errors import UpstreamError
    from literllm.transport.client import HttpTransport
    from tests.support.rawhttp import RawServer, get, response_head

    def high_water() -> int:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
        raise SystemExit("no VmHWM")

    async def main() -> None:
        packer = zlib.compressobj(9, zlib.DEFLATED, 31)
        zeros = bytes(1 << 20)
        body = b"".join(packer.compress(zeros) for _ in range(1024)) + packer.flush()
        assert len(body) < 2 << 20  # about 1 MB on the wire, 1 GiB inflated
        framing = [("Content-Encoding", "gzip"), ("Content-Length", str(len(body)))]
        head = response_head(200, framing)

        async def bomb(peer):
            await peer.read_request()
            await peer.send(head + body)

        server = RawServer(bomb)
        await server.start()
        transport = HttpTransport()
        before = high_water()
        try:
            await transport.send(get(server.url("/")), timeout=30)
        except UpstreamError as exc:
            print(exc.code)
        print(high_water() - before)
        await transport.aclose()
        await server.stop()

    asyncio.run(main())
    """
)


def test_a_1_mb_gzip_body_inflating_to_1_gb_stays_within_tens_of_mb_of_rss() -> None:
    done = subprocess.run(
        [sys.executable, "-c", RSS_PROBE, str(REPO)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    code, grown = done.stdout.split()
    assert code == "upstream_response_too_large"
    assert int(grown) < 80 * 1024 * 1024  # the 32 MiB default cap, and no more


# --- 8. the request target ------------------------------------------------------------


async def test_space_control_and_non_ascii_in_the_path_are_percent_encoded(
    serve: ServerFactory, transport: HttpTransport
) -> None:
    server = await serve(echo_target)
    url = f"http://127.0.0.1:{server.port}/v1/a b/\u00fc\x01/x?q=a b&r=\u00e9"
    response = await transport.send(get(url), timeout=5)
    assert response.body == b"/v1/a%20b/%C3%BC%01/x?q=a%20b&r=%C3%A9"
    assert (await transport.send(get(server.url("/ok%20already")), timeout=5)).body == (
        b"/ok%20already"
    )


async def test_a_host_with_a_space_is_refused(transport: HttpTransport) -> None:
    with pytest.raises(UpstreamError) as caught:
        await transport.send(get("http://exa mple.test/x"), timeout=5)
    assert caught.value.retryable is False


# --- 9. connection caps ---------------------------------------------------------------


def held_until(release: asyncio.Event) -> object:
    async def handler(peer: Peer) -> None:
        while (request := await peer.read_request()) is not None:
            await release.wait()
            await peer.send(http_response(request.target.encode()))

    return handler


async def test_calls_beyond_the_per_host_cap_wait_their_turn(serve: ServerFactory) -> None:
    release = asyncio.Event()
    server = await serve(held_until(release))  # type: ignore[arg-type]
    transport = HttpTransport(max_connections_per_host=2)
    try:
        calls = [
            asyncio.create_task(transport.send(get(server.url(f"/{n}")), timeout=5))
            for n in range(6)
        ]
        for _ in range(20):
            await asyncio.sleep(0.01)
        assert server.connections == 2 and len(server.requests) == 2
        release.set()
        answers = await asyncio.gather(*calls)
    finally:
        await transport.aclose()
    assert [a.body for a in answers] == [f"/{n}".encode() for n in range(6)]
    assert server.connections == 2


async def test_the_total_cap_spans_hosts(serve: ServerFactory) -> None:
    release = asyncio.Event()
    first = await serve(held_until(release))  # type: ignore[arg-type]
    second = await serve(held_until(release))  # type: ignore[arg-type]
    transport = HttpTransport(max_connections=3)
    try:
        calls = [
            asyncio.create_task(transport.send(get(server.url("/")), timeout=5))
            for server in (first, second) * 3
        ]
        for _ in range(20):
            await asyncio.sleep(0.01)
        assert first.connections + second.connections == 3
        release.set()
        await asyncio.gather(*calls)
        assert transport._pool.total <= 3
        # an idle connection to one host gives way to a call to the other
        await transport.send(get(first.url("/")), timeout=5)
    finally:
        await transport.aclose()


async def test_waiting_for_a_connection_ends_in_a_clear_error(serve: ServerFactory) -> None:
    release = asyncio.Event()
    server = await serve(held_until(release))  # type: ignore[arg-type]
    transport = HttpTransport(max_connections_per_host=1, pool_timeout=0.2)
    try:
        busy = asyncio.create_task(transport.send(get(server.url("/busy")), timeout=5))
        await asyncio.sleep(0.05)
        with pytest.raises(UpstreamError) as caught:
            await transport.send(get(server.url("/queued")), timeout=5)
        release.set()
        assert (await busy).body == b"/busy"
        # the cap freed a slot again: the next call goes through
        assert (await transport.send(get(server.url("/next")), timeout=5)).body == b"/next"
    finally:
        await transport.aclose()
    error = caught.value
    assert (error.status, error.code, error.retryable) == (503, "upstream_pool_timeout", True)
    assert "max_connections_per_host" in error.message


async def test_a_cancelled_waiter_gives_its_turn_back(serve: ServerFactory) -> None:
    release = asyncio.Event()
    server = await serve(held_until(release))  # type: ignore[arg-type]
    transport = HttpTransport(max_connections_per_host=1)
    try:
        busy = asyncio.create_task(transport.send(get(server.url("/a")), timeout=5))
        await asyncio.sleep(0.05)
        waiting = asyncio.create_task(transport.send(get(server.url("/b")), timeout=5))
        await asyncio.sleep(0.05)
        waiting.cancel()
        release.set()
        await busy
        assert (await transport.send(get(server.url("/c")), timeout=5)).body == b"/c"
        assert transport._pool.total == 1
    finally:
        await transport.aclose()


# --- 11. header names ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["Content-Length ", "X Bad", "X:y", "", "X\u00e9"])
async def test_an_invalid_header_name_is_refused_before_anything_is_sent(
    serve: ServerFactory, transport: HttpTransport, name: str
) -> None:
    server = await serve(echo_target)
    with pytest.raises(UpstreamError) as caught:
        await transport.send(post(server.url("/x"), headers={name: "999"}), timeout=5)
    assert caught.value.retryable is False
    await transport.aclose()
    await server.idle()
    assert server.received == b""


# --- 12, 13, 14, 15. framing and codings ----------------------------------------------


async def test_a_head_response_with_content_length_has_no_body(
    serve: ServerFactory, transport: HttpTransport
) -> None:
    async def head_then_echo(peer: Peer) -> None:
        while (request := await peer.read_request()) is not None:
            if request.method == "HEAD":
                await peer.send(response_head(200, [("Content-Length", "1234")]))
            else:
                await peer.send(http_response(request.target.encode()))

    server = await serve(head_then_echo)
    head = await transport.send(UpstreamRequest("HEAD", server.url("/h"), {}), timeout=2)
    assert (head.status, head.body, head.headers["content-length"]) == (200, b"", "1234")
    assert (await transport.send(get(server.url("/next")), timeout=2)).body == b"/next"
    assert server.connections == 1


@pytest.mark.parametrize(
    "codings", ["gzip, chunked", "chunked, gzip", "xchunked", "chunked, chunked"]
)
async def test_transfer_codings_other_than_chunked_are_refused(
    serve: ServerFactory, transport: HttpTransport, codings: str
) -> None:
    answer = (
        response_head(200, [("Transfer-Encoding", codings)])
        + chunk(gzip.compress(b"x"))
        + LAST_CHUNK
    )

    async def then_close(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(answer)
        await peer.close()

    server = await serve(then_close)
    with pytest.raises(UpstreamError) as caught:
        await transport.send(get(server.url("/x")), timeout=5)
    assert_connection_error(caught.value)
    assert "transfer-encoding" in caught.value.message


async def test_transfer_encoding_chunked_is_matched_as_a_coding_not_a_substring(
    serve: ServerFactory, transport: HttpTransport
) -> None:
    async def spaced(peer: Peer) -> None:
        while await peer.read_request() is not None:
            head = response_head(200, [("Transfer-Encoding", " Chunked ")])
            await peer.send(head + chunk(b"body") + LAST_CHUNK)

    server = await serve(spaced)
    for _ in range(2):
        assert (await transport.send(get(server.url("/x")), timeout=5)).body == b"body"
    assert server.connections == 1


async def test_an_obs_fold_header_is_unfolded_with_a_space(
    serve: ServerFactory, transport: HttpTransport
) -> None:
    folded = b"HTTP/1.1 200 OK\r\nX-Folded: first\r\n \t second\r\nContent-Length: 2\r\n\r\nok"
    server = await serve(answer_each(folded))
    response = await transport.send(get(server.url("/x")), timeout=5)
    assert response.body == b"ok" and response.headers["x-folded"] == "first second"


async def test_a_multi_member_gzip_body_is_inflated_whole(
    serve: ServerFactory, transport: HttpTransport
) -> None:
    packed = gzip.compress(b'{"first": ') + gzip.compress(b'"second"}')
    gz = [("Content-Encoding", "gzip")]
    server = await serve(answer_each(http_response(packed, headers=gz)))
    assert (await transport.send(get(server.url("/x")), timeout=5)).body == b'{"first": "second"}'


# --- 16. a dropped stream -------------------------------------------------------------


async def test_a_stream_dropped_without_aclose_closes_its_socket(
    serve: ServerFactory, transport: HttpTransport
) -> None:
    closed = asyncio.Event()

    async def endless(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(chunked_head() + chunk(b"data: 1\n\n"))
        if await peer.reader.read() == b"":  # the client closed its end
            closed.set()

    server = await serve(endless)
    stream = await transport.open_stream(get(server.url("/x")), timeout=5)
    chunks = stream.chunks()
    assert await anext(chunks) == b"data: 1\n\n"
    del stream, chunks
    for _ in range(3):
        gc.collect()
        await asyncio.sleep(0.01)
    await asyncio.wait_for(closed.wait(), 2)
    assert transport._pool.total == 0


# --- what the reviews found right ---------------------------------------------------


def make_cert(directory: Path, name: str) -> tuple[Path, Path]:
    cert, key = directory / f"{name}.pem", directory / f"{name}.key"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert), "-subj", f"/CN={name}"),
            *("-addext", f"subjectAltName=DNS:{name}"),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


async def test_tls_checks_the_name_and_sends_sni(serve: ServerFactory, tmp_path: Path) -> None:
    cert, key = make_cert(tmp_path, "localhost")
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    names: list[str | None] = []
    server_context.sni_callback = lambda _sock, name, _ctx: names.append(name)  # type: ignore[assignment,func-returns-value]
    server = await serve(echo_target, ssl_context=server_context)
    trusting = ssl.create_default_context(cafile=cert)
    transport = HttpTransport(ssl_context=trusting)
    try:
        ok = await transport.send(get(f"https://localhost:{server.port}/sni"), timeout=5)
        assert ok.body == b"/sni" and names == ["localhost"]
        # the same trusted certificate under another name: refused
        with pytest.raises(UpstreamError) as caught:
            await transport.send(get(f"https://127.0.0.1:{server.port}/ip"), timeout=5)
        assert_connection_error(caught.value)
    finally:
        await transport.aclose()
    assert [r.target for r in server.requests] == ["/sni"]


async def test_tls_with_the_default_context_refuses_an_untrusted_certificate(
    serve: ServerFactory, transport: HttpTransport, tmp_path: Path
) -> None:
    cert, key = make_cert(tmp_path, "localhost")
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    server = await serve(echo_target, ssl_context=server_context)
    with pytest.raises(UpstreamError) as caught:
        await transport.send(get(f"https://localhost:{server.port}/x"), timeout=5)
    assert_connection_error(caught.value)
    assert server.requests == []


@pytest.mark.parametrize(
    "headers",
    [{"x-note": "a\r\nInjected: yes"}, {"x-note": "a\nb"}, {"x-note": "a\0b"}, {"x\r\ny": "1"}],
)
async def test_header_injection_is_refused(
    serve: ServerFactory, transport: HttpTransport, headers: dict[str, str]
) -> None:
    server = await serve(echo_target)
    with pytest.raises(UpstreamError):
        await transport.send(post(server.url("/x"), headers=headers), timeout=5)
    await transport.aclose()
    await server.idle()
    assert server.received == b""


async def test_a_slow_drip_of_headers_is_cut_at_the_timeout(
    serve: ServerFactory, transport: HttpTransport
) -> None:
    async def drip(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(b"HTTP/1.1 200 OK\r\n")
        for _ in range(200):
            await peer.send(b"X: y\r\n")
            await asyncio.sleep(0.02)

    server = await serve(drip)
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(UpstreamError) as caught:
        await transport.send(get(server.url("/x")), timeout=0.3)
    assert (caught.value.status, caught.value.code) == (504, "upstream_timeout")
    assert loop.time() - started < 2


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"2\r\nok\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok!",
        b"HTTP/1.1 200 OK\r\nContent-Length: -2\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\nContent-Length: 0x2\r\n\r\nok",
        b"HTTP/1.1 200 OK\nContent-Length: 2\n\nok",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nok\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokEXTRA\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX Space: y\r\nContent-Length: 2\r\n\r\nok",
        b"HTTP/9.9 200 OK\r\nContent-Length: 2\r\n\r\nok",
    ],
)
async def test_ambiguous_or_broken_framing_is_refused(
    serve: ServerFactory, transport: HttpTransport, answer: bytes
) -> None:
    async def then_close(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(answer)
        await peer.close()

    server = await serve(then_close)
    with pytest.raises(UpstreamError) as caught:
        await transport.send(get(server.url("/x")), timeout=5)
    assert_connection_error(caught.value)


async def test_a_proxy_that_answers_the_tunnel_with_junk_is_a_502(
    serve: ServerFactory,
) -> None:
    async def junk(peer: Peer) -> None:
        await peer.reader.readuntil(b"\r\n\r\n")
        await peer.send(b"HTTP/1.1 200 OK\r\n\r\nthis is not TLS at all\r\n" * 4)

    proxy = await serve(junk)
    transport = HttpTransport(proxies={"https": f"http://127.0.0.1:{proxy.port}"})
    try:
        with pytest.raises(UpstreamError) as caught:
            await transport.send(get("https://upstream.test/x"), timeout=5)
    finally:
        await transport.aclose()
    assert_connection_error(caught.value)


async def test_redirects_are_returned_not_followed(
    serve: ServerFactory, transport: HttpTransport
) -> None:
    target = await serve(echo_target)
    moved = http_response(b"", status=307, headers=[("Location", target.url("/elsewhere"))])
    server = await serve(answer_each(moved))
    response = await transport.send(post(server.url("/x")), timeout=5)
    assert response.status == 307 and response.headers["location"] == target.url("/elsewhere")
    assert target.requests == [] and len(server.requests) == 1


def test_every_test_the_package_docstring_names_exists() -> None:
    import re

    import literllm.transport

    names = set(re.findall(r"\btest_\w+", literllm.transport.__doc__ or ""))
    names -= {"test_hostile_servers", "test_framing_fuzz", "test_client", "test_tls_and_proxies"}
    names -= {"test_url_paths"}
    here = Path(__file__).parent
    sources = "".join(path.read_text() for path in here.glob("test_*.py"))
    sources += (here.parent / "providers" / "test_url_paths.py").read_text()
    missing = sorted(name for name in names if f"def {name}(" not in sources)
    assert len(names) > 25 and missing == []
