"""Slow clients cannot hold the server: a header timeout and a connection cap (uvicorn).

uvicorn closes idle keep-alive connections but gives a client all the time it wants
to send a request's headers, and its `limit_concurrency` answers 503 to *new*
connections once the limit is reached, which is exactly what a slowloris attack
wants. `GuardedProtocol` (uvicorn's httptools protocol with two additions) instead:

* closes a connection whose request line and headers are not complete
  `header_timeout` seconds after the connection opened (or, on a kept-alive
  connection, after the next request's first byte);
* answers malformed HTTP with an OpenAI-style JSON 400 (uvicorn's is plain text);
* keeps at most `max_connections` open: past it, the connection that has waited
  longest without sending complete headers (a slow or idle client) is closed to make
  room, so a new client is still served. Only when every connection is inside a
  request is the new one closed instead.

Use it as uvicorn's `http` with `ConnectionGuard.protocol()`. The guard holds only
settings and the per-process bookkeeping; it pickles, so `--workers` copies it into
each worker.
"""

from __future__ import annotations

import asyncio
import functools
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["ConnectionGuard", "GuardedProtocol"]


class ConnectionGuard:
    """Settings and, per process, the connections waiting for complete headers
    (oldest first)."""

    def __init__(self, *, header_timeout: float, max_connections: int) -> None:
        self.header_timeout = header_timeout
        self.max_connections = max_connections
        self.open = 0
        self.waiting: OrderedDict[GuardedProtocol, None] = OrderedDict()
        self.evicted = 0

    def __getstate__(self) -> dict[str, Any]:
        return {"header_timeout": self.header_timeout, "max_connections": self.max_connections}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state)  # type: ignore[misc]

    def protocol(self) -> Callable[..., GuardedProtocol]:
        """What uvicorn's `http` setting takes."""
        return functools.partial(GuardedProtocol, guard=self)


class GuardedProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, guard: ConnectionGuard, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._guard = guard
        self._header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        guard = self._guard
        guard.open += 1
        if guard.open > guard.max_connections:
            victim = next(iter(guard.waiting), None)
            if victim is None:  # every connection is busy with a request: refuse this one
                transport.close()
                return
            guard.evicted += 1
            victim._drop()
        self._wait_for_headers()

    def connection_lost(self, exc: Exception | None) -> None:
        self._guard.open -= 1
        self._stop_waiting()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        # a kept-alive connection starts its next request: the header clock restarts
        self._stop_waiting()
        self._wait_for_headers()

    def on_headers_complete(self) -> None:
        self._stop_waiting()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            # idle between requests: uvicorn's keep-alive timeout bounds the wait, and
            # the connection may be closed to make room for a new one
            self._guard.waiting[self] = None

    def send_400_response(self, msg: str) -> None:
        """Malformed HTTP gets an OpenAI-style JSON error, like every other error."""
        body = (
            b'{"error":{"message":"the request is not valid HTTP/1.1: '
            + msg.encode("ascii", "replace").replace(b'"', b"'")
            + b'","type":"invalid_request_error","param":null,"code":"invalid_http"}}'
        )
        self.transport.write(
            b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\n"
            b"content-length: " + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n" + body
        )
        self.transport.close()

    def _wait_for_headers(self) -> None:
        self._guard.waiting[self] = None
        self._header_timer = self.loop.call_later(self._guard.header_timeout, self._drop)

    def _stop_waiting(self) -> None:
        self._guard.waiting.pop(self, None)
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _drop(self) -> None:
        self._stop_waiting()
        if not self.transport.is_closing():
            self.transport.close()
