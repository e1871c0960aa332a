"""A misbehaving OpenAI-compatible upstream on 127.0.0.1, one thread per connection.

    with BadUpstream(hang) as upstream:          # a behaviour: (conn, request) -> None
        ... point a model's base_url at upstream.base_url ...
        assert upstream.closed.wait(2)           # the gateway closed the connection

Each behaviour gets the accepted socket and the request bytes (head and body) and
writes whatever it likes. `closed` is set when the gateway closes a connection the
behaviour was still holding (`wait_for_close`).
"""

from __future__ import annotations

import gzip
import json
import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

__all__ = [
    "BadUpstream",
    "Behaviour",
    "chat_json",
    "endless_stream",
    "gzip_bomb",
    "hang",
    "invalid_json",
    "rate_limited",
    "reset",
    "slow_drip",
    "sse_chunk",
]

Behaviour = Callable[["BadUpstream", socket.socket, bytes], None]


def chat_json(content: str = "hi", *, prompt: int = 5, completion: int = 3) -> dict[str, Any]:
    return {
        "id": "chatcmpl-bad",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4o",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        },
    }


def sse_chunk(content: str, index: int = 0) -> bytes:
    chunk = {
        "id": "chatcmpl-bad",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gpt-4o",
        "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": None}],
    }
    data = b"data: " + json.dumps(chunk).encode() + b"\n\n"
    return b"%x\r\n%s\r\n" % (len(data), data)


def _head(status: int, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status} X"] + [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _send_json(conn: socket.socket, status: int, body: bytes, **headers: str) -> None:
    conn.sendall(
        _head(
            status,
            {"content-type": "application/json", "content-length": str(len(body)), **headers},
        )
        + body
    )


def hang(upstream: BadUpstream, conn: socket.socket, request: bytes) -> None:
    """Never answer; note when the gateway gives up on the connection."""
    upstream.wait_for_close(conn)


def reset(upstream: BadUpstream, conn: socket.socket, request: bytes) -> None:
    """Close the connection with a TCP reset before answering."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    conn.close()


def invalid_json(upstream: BadUpstream, conn: socket.socket, request: bytes) -> None:
    if b'"stream":true' in request.replace(b" ", b""):
        conn.sendall(
            _head(200, {"content-type": "text/event-stream", "transfer-encoding": "chunked"})
        )
        data = b"data: {not json\n\n"
        conn.sendall(b"%x\r\n%s\r\n0\r\n\r\n" % (len(data), data))
    else:
        _send_json(conn, 200, b'{"id": "x", "choices": [')


def endless_stream(upstream: BadUpstream, conn: socket.socket, request: bytes) -> None:
    """A stream that never ends: a chunk every 50 ms until the gateway closes it."""
    conn.sendall(_head(200, {"content-type": "text/event-stream", "transfer-encoding": "chunked"}))
    try:
        while not upstream.stopping.is_set():
            conn.sendall(sse_chunk("x"))
            upstream.chunks_sent += 1
            time.sleep(0.05)
    except OSError:
        upstream.closed.set()


def slow_drip(upstream: BadUpstream, conn: socket.socket, request: bytes) -> None:
    """A JSON answer sent one byte every 20 ms."""
    body = json.dumps(chat_json()).encode()
    data = _head(200, {"content-type": "application/json", "content-length": str(len(body))}) + body
    try:
        for index in range(len(data)):
            conn.sendall(data[index : index + 1])
            time.sleep(0.02)
    except OSError:
        upstream.closed.set()


def gzip_bomb(upstream: BadUpstream, conn: socket.socket, request: bytes) -> None:
    """About 100 kB on the wire that inflates to 100 MB of zeros."""
    body = gzip.compress(b"0" * 100_000_000, compresslevel=9)
    try:
        _send_json(conn, 200, body, **{"content-encoding": "gzip"})
    except OSError:
        upstream.closed.set()


def rate_limited(upstream: BadUpstream, conn: socket.socket, request: bytes) -> None:
    """429 with Retry-After on the first request, then a normal answer."""
    if upstream.requests == 1:
        body = json.dumps({"error": {"message": "slow down", "type": "rate_limit_error"}})
        _send_json(conn, 429, body.encode(), **{"retry-after": "1"})
    else:
        _send_json(conn, 200, json.dumps(chat_json()).encode())


class BadUpstream:
    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.requests = 0
        self.chunks_sent = 0
        self.closed = threading.Event()
        self.stopping = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._handlers: list[threading.Thread] = []

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def wait_for_close(self, conn: socket.socket) -> None:
        conn.settimeout(0.05)
        while not self.stopping.is_set():
            try:
                if conn.recv(4096) == b"":
                    break
            except TimeoutError:
                continue
            except OSError:
                break
        self.closed.set()

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            handler = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._handlers.append(handler)
            handler.start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            request = self._read_request(conn)
            if request is None:
                return
            self.requests += 1
            try:
                self.behaviour(self, conn, request)
            except OSError:
                self.closed.set()

    @staticmethod
    def _read_request(conn: socket.socket) -> bytes | None:
        data = b""
        while b"\r\n\r\n" not in data:
            part = conn.recv(65536)
            if not part:
                return None
            data += part
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        while len(body) < length:
            part = conn.recv(65536)
            if not part:
                return None
            body += part
        return head + b"\r\n\r\n" + body

    def __enter__(self) -> BadUpstream:
        self._listener.listen(64)
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stopping.set()
        self._listener.close()
        for handler in self._handlers:
            handler.join(5)
