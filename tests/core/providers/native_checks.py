"""Shared checks for native adapter tests: recorded payloads, OpenAI schemas, splits."""

from __future__ import annotations

import contextlib
import copy
import json
import struct
import zlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from literllm.providers.base import StreamDecoder
from tests.support.openapi import validate

DATA = Path(__file__).resolve().parents[2] / "data"


def load_bytes(provider: str, name: str) -> bytes:
    return (DATA / provider / name).read_bytes()


def load_json(provider: str, name: str) -> Any:
    return json.loads(load_bytes(provider, name))


def validate_openai(schema_name: str, payload: bytes | dict[str, Any]) -> dict[str, Any]:
    value = json.loads(payload) if isinstance(payload, bytes) else copy.deepcopy(payload)
    validate(value, schema_name)
    return value


def run_stream(decoder: StreamDecoder, data: bytes, split: int | None = None) -> list[bytes]:
    out: list[bytes] = []
    if split is None:
        out.extend(decoder.feed(data))
    else:
        out.extend(decoder.feed(data[:split]))
        out.extend(decoder.feed(data[split:]))
    out.extend(decoder.close())
    return out


def without_volatile(payloads: list[bytes]) -> list[dict[str, Any]]:
    """Chunks without `created` (a clock read) and `id` (generated for providers that send
    none) so runs compare equal; within one stream the id must not change."""
    chunks = [json.loads(p) for p in payloads]
    assert len({c["id"] for c in chunks}) <= 1
    for c in chunks:
        c.pop("created", None)
        c.pop("id", None)
    return chunks


def assert_every_split_equal(make: Callable[[], StreamDecoder], data: bytes) -> None:
    whole = without_volatile(run_stream(make(), data))
    assert whole
    for split in range(1, len(data)):
        assert without_volatile(run_stream(make(), data, split)) == whole, f"split at {split}"
    byte_by_byte = make()
    out: list[bytes] = []
    for i in range(len(data)):
        out.extend(byte_by_byte.feed(data[i : i + 1]))
    out.extend(byte_by_byte.close())
    assert without_volatile(out) == whole


@contextlib.asynccontextmanager
async def fake_upstream(
    routes: dict[tuple[str, str], tuple[int, str, bytes]],
) -> AsyncIterator[tuple[str, list[web.Request]]]:
    """A tiny HTTP server on 127.0.0.1 answering `(method, path)` with recorded bytes.

    Yields the base URL and the list of requests it received (bodies are read).
    """
    seen: list[web.Request] = []

    async def handle(request: web.Request) -> web.StreamResponse:
        await request.read()
        seen.append(request)
        answer = routes.get((request.method, request.path))
        if answer is None:
            return web.Response(status=404, text=f"no route {request.method} {request.path}")
        status, content_type, body = answer
        return web.Response(status=status, body=body, headers={"content-type": content_type})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}", seen
    finally:
        await runner.cleanup()


def _event_stream_header(name: str, value: str) -> bytes:
    raw_name, raw_value = name.encode(), value.encode()
    return (
        struct.pack(">B", len(raw_name))
        + raw_name
        + b"\x07"
        + struct.pack(">H", len(raw_value))
        + raw_value
    )


def event_stream_frame(headers: dict[str, str], payload: bytes) -> bytes:
    """One AWS event-stream message: prelude (total length, headers length, CRC32),
    headers (string-typed), payload, CRC32 of everything before it."""
    header_bytes = b"".join(_event_stream_header(k, v) for k, v in headers.items())
    total = 12 + len(header_bytes) + len(payload) + 4
    prelude = struct.pack(">II", total, len(header_bytes))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    message = prelude + header_bytes + payload
    return message + struct.pack(">I", zlib.crc32(message))


def converse_stream_bytes(events: list[dict[str, Any]]) -> bytes:
    """Frame recorded ConverseStream events (`{"event": name, "payload": {...}}` or
    `{"exception": name, "payload": {...}}`) as Bedrock sends them."""
    out = b""
    for item in events:
        payload = json.dumps(item["payload"]).encode()
        if "exception" in item:
            headers = {
                ":message-type": "exception",
                ":exception-type": item["exception"],
                ":content-type": "application/json",
            }
        else:
            headers = {
                ":message-type": "event",
                ":event-type": item["event"],
                ":content-type": "application/json",
            }
        out += event_stream_frame(headers, payload)
    return out
