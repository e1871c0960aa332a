"""Client CPU per call and per stream event: our HTTP client against aiohttp, one run.

    .venv/bin/python -m benchmarks.client_cpu                 # about 30 s
    .venv/bin/python -m benchmarks.client_cpu --calls 20000 --reps 5

An upstream on 127.0.0.1 runs in a child process (its CPU is not counted): a 312-byte
chat completion framed by Content-Length, and a 20-event SSE stream (plus a usage event
and `[DONE]`), chunked, one event per write. This process drives each client with 16
concurrent tasks under uvloop and reports `time.process_time()` spent per call and per
stream event, the median of `--reps` interleaved repetitions (ours, aiohttp, ours, ...),
so a noisy moment hurts both alike. Bounded: a fixed number of calls per repetition.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

CHAT = json.dumps(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "gpt-4o-mini",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hello! How can I help you?"},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 9, "completion_tokens": 9, "total_tokens": 18},
    }
).encode()
EVENTS = 22  # 20 content chunks, a usage chunk, [DONE]
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "16"))


def _event(n: int) -> bytes:
    data = b'{"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":'
    data += b'{"content":"tok%d"},"finish_reason":null}]}' % n
    return b"data: " + data + b"\n\n"


# --- the upstream (child process) ------------------------------------------------------


class _Upstream(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.tasks: set[asyncio.Task[None]] = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].decode("latin-1").lower()
            length = 0
            for line in head.split("\r\n"):
                if line.startswith("content-length:"):
                    length = int(line.split(":", 1)[1])
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length :]
            if head.startswith("post /stream"):
                task = asyncio.ensure_future(self._stream())
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)
            else:
                assert self.transport is not None
                self.transport.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\n\r\n%s" % (len(CHAT), CHAT)
                )

    async def _stream(self) -> None:
        transport = self.transport
        assert transport is not None
        transport.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        for n in range(EVENTS - 1):
            event = _event(n)
            transport.write(b"%x\r\n%s\r\n" % (len(event), event))
            await asyncio.sleep(0)  # one event per write, as a model produces them
        done = b"data: [DONE]\n\n"
        transport.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(done), done))


def serve(port_file: str) -> None:
    import uvloop

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(_Upstream, "127.0.0.1", 0)
        Path(port_file).write_text(str(server.sockets[0].getsockname()[1]))  # noqa: ASYNC240 (once, at start)
        await asyncio.Event().wait()

    uvloop.run(main())


# --- the clients -------------------------------------------------------------------


async def _drive(call: Callable[[], Awaitable[int]], count: int) -> tuple[float, int]:
    """CPU seconds for `count` calls from CONCURRENCY tasks, and the units they returned."""
    per_task = count // CONCURRENCY
    units = 0

    async def worker() -> None:
        nonlocal units
        for _ in range(per_task):
            got = await call()  # not `units += await ...`: that reads before the await
            units += got

    started = time.process_time()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return time.process_time() - started, units


async def ours(base: str, calls: int, streams: int) -> tuple[float, float]:
    from literllm.transport.base import UpstreamRequest
    from literllm.transport.client import HttpTransport

    client = HttpTransport()
    headers = {"content-type": "application/json", "authorization": "Bearer sk-bench"}
    chat = UpstreamRequest("POST", base + "/v1/chat/completions", headers, b'{"m": 1}')
    stream = UpstreamRequest("POST", base + "/stream", headers, b'{"m": 1}')

    async def one_call() -> int:
        response = await client.send(chat, timeout=30)
        assert response.status == 200 and len(response.body) == len(CHAT)
        return 1

    async def one_stream() -> int:
        answer = await client.open_stream(stream, timeout=30)
        async for _data in answer.chunks():
            pass
        await answer.aclose()
        return EVENTS

    try:
        await _drive(one_call, 400)  # warm up: connections, caches
        cpu, n = await _drive(one_call, calls)
        per_call = cpu / n
        await _drive(one_stream, 64)
        cpu, events = await _drive(one_stream, streams)
        return per_call, cpu / events
    finally:
        await client.aclose()


async def aiohttp_client(base: str, calls: int, streams: int) -> tuple[float, float]:
    import aiohttp

    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0, ttl_dns_cache=300),
        timeout=aiohttp.ClientTimeout(total=30),
    )
    headers = {"content-type": "application/json", "authorization": "Bearer sk-bench"}

    async def one_call() -> int:
        async with session.post(
            base + "/v1/chat/completions", data=b'{"m": 1}', headers=headers
        ) as response:
            body = await response.read()
            assert response.status == 200 and len(body) == len(CHAT)
        return 1

    async def one_stream() -> int:
        async with session.post(base + "/stream", data=b'{"m": 1}', headers=headers) as response:
            async for _data in response.content.iter_any():
                pass
        return EVENTS

    try:
        await _drive(one_call, 400)
        cpu, n = await _drive(one_call, calls)
        per_call = cpu / n
        await _drive(one_stream, 64)
        cpu, events = await _drive(one_stream, streams)
        return per_call, cpu / events
    finally:
        await session.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=8000)
    parser.add_argument("--streams", type=int, default=800)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    import tempfile

    import uvloop

    port_file = os.path.join(tempfile.mkdtemp(), "port")
    command = [sys.executable, "-m", "benchmarks.client_cpu", "--serve", port_file]
    upstream = subprocess.Popen(command)
    try:
        for _ in range(100):
            if os.path.exists(port_file) and Path(port_file).read_text():
                break
            time.sleep(0.05)
        base = f"http://127.0.0.1:{Path(port_file).read_text()}"
        results: dict[str, list[tuple[float, float]]] = {"ours": [], "aiohttp": []}
        for rep in range(args.reps):
            for name, run in (("ours", ours), ("aiohttp", aiohttp_client)):
                measured = uvloop.run(run(base, args.calls, args.streams))
                results[name].append(measured)
                print(
                    f"rep {rep + 1} {name:8} {measured[0] * 1e6:6.1f} us/call "
                    f"{measured[1] * 1e6:6.1f} us/event",
                    file=sys.stderr,
                )
    finally:
        upstream.terminate()
        upstream.wait(10)
    medians = {
        name: (
            statistics.median(r[0] for r in runs) * 1e6,
            statistics.median(r[1] for r in runs) * 1e6,
        )
        for name, runs in results.items()
    }
    print("| client | CPU per call (us) | CPU per stream event (us) |")
    print("|---|---|---|")
    for name, (call, event) in medians.items():
        print(f"| {name} | {call:.1f} | {event:.1f} |")
    ratio_call = medians["aiohttp"][0] / medians["ours"][0]
    ratio_event = medians["aiohttp"][1] / medians["ours"][1]
    print(f"\naiohttp / ours: {ratio_call:.2f}x per call, {ratio_event:.2f}x per event")


if __name__ == "__main__":
    main()
