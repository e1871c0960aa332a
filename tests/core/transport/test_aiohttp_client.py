"""The pooled aiohttp transport against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from literllm.errors import UpstreamError
from literllm.transport.aiohttp_client import AiohttpTransport
from literllm.transport.base import UpstreamRequest


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, asyncio.Event]]:
    release = asyncio.Event()

    async def answer(request: web.Request) -> web.Response:
        return web.json_response({"echo": (await request.json())["x"]}, status=201)

    async def hang(request: web.Request) -> web.Response:
        await release.wait()
        return web.json_response({})

    async def stream(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"content-type": "text/event-stream"})
        await response.prepare(request)
        await response.write(b"data: 1\n\n")
        await release.wait()
        await response.write(b"data: 2\n\n")
        return response

    app = web.Application()
    app.router.add_post("/answer", answer)
    app.router.add_post("/hang", hang)
    app.router.add_post("/stream", stream)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}", release
    release.set()
    await runner.cleanup()


def post(url: str, body: bytes = b'{"x": 1}') -> UpstreamRequest:
    return UpstreamRequest("POST", url, {"content-type": "application/json"}, body)


async def test_send_returns_status_headers_and_body(server: tuple[str, asyncio.Event]) -> None:
    transport = AiohttpTransport()
    try:
        response = await transport.send(post(server[0] + "/answer"), timeout=5)
    finally:
        await transport.aclose()
    assert response.status == 201 and response.body == b'{"echo": 1}'
    assert response.headers["content-type"].startswith("application/json")


async def test_send_times_out_as_a_retryable_504(server: tuple[str, asyncio.Event]) -> None:
    transport = AiohttpTransport()
    try:
        with pytest.raises(UpstreamError) as caught:
            await transport.send(post(server[0] + "/hang"), timeout=0.05)
    finally:
        await transport.aclose()
    assert caught.value.status == 504 and caught.value.retryable


async def test_connection_refused_is_retryable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    transport = AiohttpTransport()
    try:
        with pytest.raises(UpstreamError) as caught:
            await transport.send(post(f"http://127.0.0.1:{port}/x"), timeout=5)
    finally:
        await transport.aclose()
    assert caught.value.retryable and caught.value.code == "upstream_connection_error"


async def test_stream_chunks_arrive_before_the_stream_ends(
    server: tuple[str, asyncio.Event],
) -> None:
    url, release = server
    transport = AiohttpTransport()
    try:
        stream = await transport.open_stream(post(url + "/stream"), timeout=5)
        chunks = stream.chunks()
        assert await anext(chunks) == b"data: 1\n\n"
        release.set()
        assert await anext(chunks) == b"data: 2\n\n"
        await stream.aclose()
    finally:
        await transport.aclose()


async def test_stream_gap_longer_than_timeout_is_a_504(
    server: tuple[str, asyncio.Event],
) -> None:
    transport = AiohttpTransport()
    try:
        stream = await transport.open_stream(post(server[0] + "/stream"), timeout=0.05)
        chunks = stream.chunks()
        await anext(chunks)
        with pytest.raises(UpstreamError) as caught:
            await anext(chunks)
        await stream.aclose()
    finally:
        await transport.aclose()
    assert caught.value.status == 504


async def test_stream_whose_headers_never_come_is_a_504(
    server: tuple[str, asyncio.Event],
) -> None:
    transport = AiohttpTransport()
    try:
        with pytest.raises(UpstreamError) as caught:
            await transport.open_stream(post(server[0] + "/hang"), timeout=0.05)
    finally:
        await transport.aclose()
    assert caught.value.status == 504 and caught.value.retryable
    assert caught.value.code == "upstream_timeout"
