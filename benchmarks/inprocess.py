"""The gateway's own cost per chat request, with the sockets taken away.

Calls the ASGI app directly with a transport that answers at once, so what is measured
is the app and the proxy: no uvicorn, no aiohttp, no event-loop I/O.

    .venv/bin/python -m benchmarks.inprocess [CONFIG] [KEY] [--requests N] [--stream]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from literllm import Proxy, UpstreamRequest, UpstreamResponse
from literllm.config import load_config
from literllm_server import create_app

HERE = Path(__file__).resolve().parent
ANSWER = (
    b'{"id":"chatcmpl-mock","object":"chat.completion","created":1700000000,'
    b'"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant",'
    b'"content":"Hello!"},"finish_reason":"stop"}],'
    b'"usage":{"prompt_tokens":20,"completion_tokens":9,"total_tokens":29}}'
)


def _stream_body() -> bytes:
    """What benchmarks/mock sends for a stream: 20 chunks, a usage chunk and [DONE]."""
    head = b'data: {"id":"chatcmpl-mock","object":"chat.completion.chunk","created":1700000000,'
    head += b'"model":"gpt-4o-mini","choices":'

    def chunk(delta: bytes, finish: bytes) -> bytes:
        return head + b'[{"index":0,"delta":' + delta + b',"finish_reason":' + finish + b"}]}\n\n"

    events = [chunk(b'{"role":"assistant","content":""}', b"null")]
    events += [chunk(b'{"content":"tok%d "}' % i, b"null") for i in range(2, 20)]
    events.append(chunk(b"{}", b'"stop"'))
    events.append(
        head + b'[],"usage":{"prompt_tokens":12,"completion_tokens":18,"total_tokens":30}}\n\n'
    )
    events.append(b"data: [DONE]\n\n")
    return b"".join(events)


STREAM = _stream_body()


class InstantStream:
    status = 200
    headers: Mapping[str, str] = {"content-type": "text/event-stream"}

    async def chunks(self) -> AsyncIterator[bytes]:
        yield STREAM

    async def read(self) -> bytes:
        return STREAM

    async def aclose(self) -> None:
        return None


class InstantUpstream:
    """A transport whose every answer is ready at once."""

    async def send(self, request: UpstreamRequest, *, timeout: float) -> UpstreamResponse:
        return UpstreamResponse(200, {"content-type": "application/json"}, ANSWER)

    async def open_stream(self, request: UpstreamRequest, *, timeout: float) -> Any:
        return InstantStream()

    async def aclose(self) -> None:
        return None


async def measure(config_path: Path, key: str, requests: int, stream: bool = False) -> float:
    body = (HERE / "bodies" / ("stream.json" if stream else "chat.json")).read_bytes()
    app = create_app(Proxy.from_config(load_config(config_path), transport=InstantUpstream()))
    scope: Mapping[str, Any] = {
        "type": "http",
        "method": "POST",
        "path": "/v1/chat/completions",
        "query_string": b"",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"content-type", b"application/json"),
            (b"authorization", b"Bearer " + key.encode()),
            (b"content-length", str(len(body)).encode()),
        ],
    }

    never = asyncio.get_running_loop().create_future()

    def receiver() -> Callable[[], Awaitable[dict[str, Any]]]:
        """The body, then nothing until the request ends (as from a client that waits)."""
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                await never
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        return receive

    async def send(message: Any) -> None:
        return None

    await app.proxy.start()
    try:
        for _ in range(min(2000, requests)):
            await app(dict(scope), receiver(), send)
            await asyncio.sleep(0)  # let the loop run what the request left (a cancelled task)
        started = time.process_time()
        for _ in range(requests):
            await app(dict(scope), receiver(), send)
            await asyncio.sleep(0)  # let the loop run what the request left (a cancelled task)
        return (time.process_time() - started) / requests
    finally:
        await app.proxy.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", nargs="?", default=str(HERE / "gateway.toml"))
    parser.add_argument("key", nargs="?", default="vk-bench")
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--stream", action="store_true", help="20-chunk streams instead")
    args = parser.parse_args()
    seconds = asyncio.run(measure(Path(args.config), args.key, args.requests, args.stream))
    what = "stream" if args.stream else "chat request"
    print(f"{args.config}: {seconds * 1e6:.1f} us of CPU per {what} (app + proxy)")


if __name__ == "__main__":
    main()
