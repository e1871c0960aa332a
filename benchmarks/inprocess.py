"""The gateway's own cost per chat request, with the sockets taken away.

Calls the ASGI app directly with a transport that answers at once, so what is measured
is the app and the proxy: no uvicorn, no aiohttp, no event-loop I/O.

    .venv/bin/python -m benchmarks.inprocess [CONFIG] [KEY] [--requests N]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Mapping
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


class InstantUpstream:
    """A transport whose every answer is ready at once."""

    async def send(self, request: UpstreamRequest, *, timeout: float) -> UpstreamResponse:
        return UpstreamResponse(200, {"content-type": "application/json"}, ANSWER)

    async def open_stream(self, request: UpstreamRequest, *, timeout: float) -> Any:
        raise NotImplementedError("chat only")

    async def aclose(self) -> None:
        return None


async def measure(config_path: Path, key: str, requests: int) -> float:
    body = (HERE / "bodies" / "chat.json").read_bytes()
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

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Any) -> None:
        return None

    await app.proxy.start()
    try:
        for _ in range(min(2000, requests)):
            await app(dict(scope), receive, send)
        started = time.process_time()
        for _ in range(requests):
            await app(dict(scope), receive, send)
        return (time.process_time() - started) / requests
    finally:
        await app.proxy.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", nargs="?", default=str(HERE / "gateway.toml"))
    parser.add_argument("key", nargs="?", default="vk-bench")
    parser.add_argument("--requests", type=int, default=20_000)
    args = parser.parse_args()
    seconds = asyncio.run(measure(Path(args.config), args.key, args.requests))
    print(f"{args.config}: {seconds * 1e6:.1f} us of CPU per chat request (app + proxy)")


if __name__ == "__main__":
    main()
