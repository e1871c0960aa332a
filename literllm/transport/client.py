"""The default upstream transport: HTTP/1.1 over asyncio, parsed by httptools.

A gateway makes one kind of call: a POST (now and then a GET) with a small JSON body to
a handful of hosts, answered with JSON or a server-sent-event stream. This client does
that and nothing else, over pooled keep-alive connections, and spends about a quarter of
the CPU aiohttp does per call (`benchmarks/client_cpu.py`, docs/performance.md).
`literllm.transport.aiohttp_client` remains for those who want aiohttp's features. What
it refuses, caps and resends is listed in the package docstring (`literllm.transport`).

Behaviour:

* Connections are kept per (scheme, host, port) and reused most-recent first, at most
  `max_connections_per_host` per host and `max_connections` in all (`pool.py`); a call
  that finds none free waits up to `pool_timeout` (and never past its own timeout).
* A request is written once. It is never sent again by this client: a connection is
  checked before the request is written (closed, expired after `idle_timeout`, or with
  bytes or an end-of-file waiting), never after.
* `https` uses `ssl.create_default_context()` unless a context is given.
* `proxies` (`{"http": url, "https": url, "no": "host,.domain"}`, see `proxies_from`):
  https goes through a `CONNECT` tunnel, plain http as absolute-form requests; only
  http:// proxies, with optional basic credentials.
* Requests ask for `accept-encoding: identity`; a gzip or deflate body is decoded anyway,
  a bounded step at a time.
* `send`: `timeout` bounds the whole call. `open_stream`: it bounds getting a connection,
  then the wait for the response headers, then each gap between two chunks.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import AsyncIterator, Mapping

from ..clock import Clock
from .base import UpstreamRequest, UpstreamResponse
from .errors import transport_error
from .pool import Pool, PoolTimeout
from .proxies import HttpProxy, Tunnel, proxies_from
from .wire import Connection, Limits, ProtocolError, ResponseTooLarge, Target, encode_request

__all__ = ["DEFAULTS", "HttpTransport", "proxies_from"]

DEFAULTS = {
    "max_response_bytes": 33_554_432,
    "max_event_bytes": 8_388_608,
    "max_connections": 512,
    "max_connections_per_host": 256,
    "pool_timeout": 30.0,
    "idle_timeout": 15.0,
}
"""The documented defaults (docs/configuration.md, `[upstream]`)."""

_SSE_BOUNDARIES = (b"\n\n", b"\r\n\r\n", b"\r\r")
_SSE_BOUNDARY = re.compile(rb"\r\n\r\n|\n\n|\r\r")


class HttpTransport:
    """Pooled HTTP/1.1 to every upstream; see the module docstring."""

    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext | None = None,
        proxies: Mapping[str, str] | None = None,
        max_response_bytes: int = 33_554_432,
        max_event_bytes: int = 8_388_608,
        max_connections: int = 512,
        max_connections_per_host: int = 256,
        pool_timeout: float = 30.0,
        idle_timeout: float = 15.0,
        clock: Clock | None = None,
    ) -> None:
        self._ssl = ssl_context
        self._proxies = dict(proxies or {})
        for kind in ("http", "https"):
            if self._proxies.get(kind):
                HttpProxy(self._proxies[kind])  # a bad proxy URL is refused now, not per call
        self._targets: dict[str, Target] = {}
        self._names: set[str] = set()
        self._limits = Limits(max_response_bytes, max_event_bytes)
        self._pool_timeout = pool_timeout
        self._pool = Pool(
            max_connections=max_connections,
            max_per_host=max_connections_per_host,
            idle_timeout=idle_timeout,
            now=clock.monotonic if clock is not None else _loop_time,
        )

    def _target(self, url: str) -> Target:
        target = self._targets.get(url)
        if target is None:
            target = Target(url, self._proxies)
            if len(self._targets) >= 4096:
                self._targets.clear()  # URLs are per deployment; this only bounds oddities
            self._targets[url] = target
        return target

    def _tls(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = ssl.create_default_context()
        return self._ssl

    async def _open_connection(self, target: Target) -> Connection:
        loop = asyncio.get_running_loop()
        key = target.key
        limits = self._limits
        proxy = target.proxy
        if proxy is None or not target.tls:
            _, connection = await loop.create_connection(
                lambda: Connection(key, limits),
                target.host if proxy is None else proxy.host,
                target.port if proxy is None else proxy.port,
                ssl=self._tls() if target.tls else None,
                server_hostname=target.host if target.tls else None,
            )
            return connection
        raw, tunnel = await loop.create_connection(Tunnel, proxy.host, proxy.port)
        try:
            await tunnel.open(target.host, target.port, proxy)
            connection = Connection(key, limits)
            secured = await loop.start_tls(
                raw, connection, self._tls(), server_hostname=target.host
            )
        except BaseException:
            raw.close()
            raise
        assert secured is not None
        connection.connection_made(secured)
        return connection

    async def _exchange(
        self, request: UpstreamRequest, timeout: float, streaming: bool
    ) -> Connection:
        """Send `request` once; return its connection once the answer (or, streaming,
        its headers) is in. The connection is the caller's to release."""
        target = self._target(request.url)
        data = encode_request(request, target, self._names)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        pool = self._pool
        key = target.key
        connection = pool.take(key)
        if connection is None:
            connection = await pool.acquire(key, min(timeout, self._pool_timeout))
        if connection is None:
            try:
                connection = await asyncio.wait_for(
                    self._open_connection(target), deadline - loop.time()
                )
            except BaseException:
                pool.unreserve(key)
                raise
            pool.opened(connection)
        waiter = connection.begin(streaming, request.method == "HEAD")
        assert connection.transport is not None
        connection.transport.write(data)
        timer = loop.call_at(deadline, connection.expire)
        try:
            await waiter
        except BaseException:
            pool.discard(connection)
            raise
        finally:
            timer.cancel()
        return connection

    async def send(self, request: UpstreamRequest, *, timeout: float) -> UpstreamResponse:
        try:
            connection = await self._exchange(request, timeout, streaming=False)
        except (TimeoutError, OSError, ValueError, ProtocolError, PoolTimeout) as exc:
            raise transport_error(request, exc, timeout) from None
        body = connection.body
        response = UpstreamResponse(
            connection.status,
            connection.headers,
            body[0] if len(body) == 1 else b"".join(body),
        )
        self._pool.release(connection)
        return response

    async def open_stream(self, request: UpstreamRequest, *, timeout: float) -> _Stream:
        try:
            connection = await self._exchange(request, timeout, streaming=True)
        except (TimeoutError, OSError, ValueError, ProtocolError, PoolTimeout) as exc:
            raise transport_error(request, exc, timeout) from None
        return _Stream(self._pool, connection, request, timeout)

    async def aclose(self) -> None:
        self._pool.close_all()


def _loop_time() -> float:
    return asyncio.get_running_loop().time()


class _Stream:
    """An open streaming answer; the connection goes back to the pool at its end, and is
    closed if the stream is dropped before that."""

    def __init__(
        self,
        pool: Pool,
        connection: Connection,
        request: UpstreamRequest,
        timeout: float,
    ) -> None:
        self._pool = pool
        self._connection: Connection | None = connection
        self._request = request
        self._timeout = timeout
        self.status = connection.status
        self.headers: Mapping[str, str] = connection.headers
        sse = "text/event-stream" in self.headers.get("content-type", "")
        self._max_event = connection.limits.max_event if sse else 0
        self._event = 0
        """Bytes of the SSE event still open (no blank line since)."""
        self._newline = False

    def __del__(self) -> None:
        connection = self._connection
        if connection is not None:  # dropped without aclose(): the rest is not wanted
            self._connection = None
            self._pool.discard(connection)

    async def chunks(self) -> AsyncIterator[bytes]:
        connection = self._connection
        if connection is None:
            return
        loop = asyncio.get_running_loop()
        while True:
            body = connection.body
            if body:
                data = body[0] if len(body) == 1 else b"".join(body)
                connection.body = []
                connection.buffered = 0
                if self._max_event:
                    self._check_event(data)
                connection.resume()
                yield data
                continue
            if connection.error is not None:
                error = connection.error
                self._finish()
                raise transport_error(self._request, error, self._timeout)
            if connection.complete and not connection.draining:
                self._finish()
                return
            reader = connection.reader = loop.create_future()
            timer = loop.call_later(self._timeout, connection.expire)
            try:
                await reader
            finally:
                timer.cancel()
                connection.reader = None

    def _check_event(self, data: bytes) -> None:
        """One server-sent event may not grow past `max_event` bytes."""
        event = self._event
        if self._newline and data[:1] in (b"\n", b"\r"):
            event = 0  # a blank line split across two reads
        if event + len(data) <= self._max_event:
            end = max(data.rfind(boundary) for boundary in _SSE_BOUNDARIES)
            self._event = len(data) - end if end >= 0 else event + len(data)
        else:  # rare: a read large enough to hold a whole oversized event
            pieces = _SSE_BOUNDARY.split(data)
            longest = max(event + len(pieces[0]), *(len(piece) for piece in pieces[1:]))
            self._event = len(pieces[-1]) if len(pieces) > 1 else event + len(data)
            if longest > self._max_event:
                connection, self._connection = self._connection, None
                if connection is not None:
                    self._pool.discard(connection)
                raise transport_error(
                    self._request,
                    ResponseTooLarge(f"stream event over {self._max_event} bytes"),
                    self._timeout,
                )
        self._newline = data[-1:] in (b"\n", b"\r")

    async def read(self) -> bytes:
        connection = self._connection
        limit = connection.limits.max_body if connection is not None else 0
        chunks: list[bytes] = []
        size = 0
        async for data in self.chunks():
            size += len(data)
            if size > limit:
                await self.aclose()
                too_large = ResponseTooLarge(f"body over {limit} bytes")
                raise transport_error(self._request, too_large, self._timeout)
            chunks.append(data)
        return b"".join(chunks)

    def _finish(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            self._pool.release(connection)

    async def aclose(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        if connection.complete and not connection.body and not connection.draining:
            self._pool.release(connection)
        else:
            self._pool.discard(connection)  # cut short: the rest is not wanted
