"""The default upstream transport: HTTP/1.1 over asyncio, parsed by httptools.

A gateway makes one kind of call: a POST (now and then a GET) with a small JSON body to
a handful of hosts, answered with JSON or a server-sent-event stream. This client does
that and nothing else, over pooled keep-alive connections, and spends about a fifth of
the CPU aiohttp does per call (benchmarks: a bare forwarder serves 3.3x the requests;
see docs/performance.md). `literllm.transport.aiohttp_client` remains for those who want
aiohttp's features.

Behaviour:

* Connections are kept per (scheme, host, port) and reused most-recent first. One that
  the server closed while idle is dropped; a request whose reused connection closes
  before any byte of the answer is sent again once on a fresh connection.
* `https` uses `ssl.create_default_context()` unless a context is given.
* `proxies` (`{"http": url, "https": url, "no": "host,.domain"}`, see `proxies_from`):
  https goes through a `CONNECT` tunnel, plain http as absolute-form requests; only
  http:// proxies, with optional basic credentials.
* Requests ask for `accept-encoding: identity`; a gzip or deflate body is decoded anyway.
* Header names and values may not contain CR, LF or NUL, and must be latin-1.
* `send`: `timeout` bounds the whole call. `open_stream`: it bounds getting a connection,
  then the wait for the response headers, then each gap between two chunks.
"""

from __future__ import annotations

import asyncio
import ssl
import zlib
from collections.abc import AsyncIterator, Mapping

import httptools

from ..errors import UpstreamError
from .base import UpstreamRequest, UpstreamResponse
from .dispatching import connection_error, upstream_timeout
from .proxies import HttpProxy, Tunnel, proxies_from
from .wire import Connection, OriginKey, Target, encode_request

__all__ = ["HttpTransport", "proxies_from"]

_IDLE_PER_HOST = 256
"""Idle connections kept per host; more are closed when they come back."""


class HttpTransport:
    """Pooled HTTP/1.1 to every upstream; see the module docstring."""

    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> None:
        self._ssl = ssl_context
        self._proxies = dict(proxies or {})
        for kind in ("http", "https"):
            if self._proxies.get(kind):
                HttpProxy(self._proxies[kind])  # a bad proxy URL is refused now, not per call
        self._idle: dict[OriginKey, list[Connection]] = {}
        self._targets: dict[str, Target] = {}
        self._open: set[Connection] = set()

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

    async def _connect(self, target: Target, timeout: float) -> Connection:
        connection = await asyncio.wait_for(self._open_connection(target), timeout)
        self._open.add(connection)
        return connection

    async def _open_connection(self, target: Target) -> Connection:
        loop = asyncio.get_running_loop()
        key = target.key
        proxy = target.proxy
        if proxy is None or not target.tls:
            _, connection = await loop.create_connection(
                lambda: Connection(key),
                target.host if proxy is None else proxy.host,
                target.port if proxy is None else proxy.port,
                ssl=self._tls() if target.tls else None,
                server_hostname=target.host if target.tls else None,
            )
            return connection
        raw, tunnel = await loop.create_connection(Tunnel, proxy.host, proxy.port)
        try:
            await tunnel.open(target.host, target.port, proxy)
            connection = Connection(key)
            secured = await loop.start_tls(
                raw, connection, self._tls(), server_hostname=target.host
            )
        except BaseException:
            raw.close()
            raise
        assert secured is not None
        connection.connection_made(secured)
        return connection

    def _pooled(self, key: OriginKey) -> Connection | None:
        idle = self._idle.get(key)
        while idle:
            connection = idle.pop()
            transport = connection.transport
            if not connection.closed and transport is not None and not transport.is_closing():
                return connection
            self._discard(connection)
        return None

    def _release(self, connection: Connection) -> None:
        if not connection.reusable():
            connection.close()
            self._open.discard(connection)
            return
        idle = self._idle.setdefault(connection.key, [])
        idle.append(connection)
        if len(idle) > _IDLE_PER_HOST:
            oldest = idle.pop(0)
            oldest.close()
            self._open.discard(oldest)

    def _discard(self, connection: Connection) -> None:
        connection.close()
        self._open.discard(connection)

    async def _exchange(
        self, request: UpstreamRequest, timeout: float, streaming: bool
    ) -> Connection:
        """Send `request`; return its connection once the answer (or, streaming, its
        headers) is in. The connection is the caller's to release."""
        target = self._target(request.url)
        data = encode_request(request, target)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        for fresh in (False, True):
            connection = None if fresh else self._pooled(target.key)
            reused = connection is not None
            if connection is None:
                connection = await self._connect(target, deadline - loop.time())
            waiter = connection.begin(streaming)
            assert connection.transport is not None
            connection.transport.write(data)
            timer = loop.call_at(deadline, connection.expire)
            try:
                await waiter
            except (ConnectionError, OSError) as exc:
                self._discard(connection)
                if reused and not connection.answered and not isinstance(exc, TimeoutError):
                    continue  # the server had closed it while idle: once more, fresh
                raise
            except BaseException:
                self._discard(connection)
                raise
            finally:
                timer.cancel()
            return connection
        raise AssertionError("unreachable")

    async def send(self, request: UpstreamRequest, *, timeout: float) -> UpstreamResponse:
        try:
            connection = await self._exchange(request, timeout, streaming=False)
        except TimeoutError:
            raise upstream_timeout(request, timeout) from None
        except (OSError, ValueError, httptools.HttpParserError, zlib.error) as exc:
            raise _failure(request, exc) from None
        body = connection.body
        response = UpstreamResponse(
            connection.status,
            connection.headers,
            body[0] if len(body) == 1 else b"".join(body),
        )
        self._release(connection)
        return response

    async def open_stream(self, request: UpstreamRequest, *, timeout: float) -> _Stream:
        try:
            connection = await self._exchange(request, timeout, streaming=True)
        except TimeoutError:
            raise upstream_timeout(request, timeout) from None
        except (OSError, ValueError, httptools.HttpParserError, zlib.error) as exc:
            raise _failure(request, exc) from None
        return _Stream(self, connection, request, timeout)

    async def aclose(self) -> None:
        for connection in list(self._open):
            connection.close()
        self._open.clear()
        self._idle.clear()


def _failure(request: UpstreamRequest, exc: BaseException) -> UpstreamError:
    if isinstance(exc, ValueError) and not isinstance(exc, OSError | UnicodeError):
        # our own request could not be written (a bad header): not worth a retry
        return UpstreamError(f"cannot send to upstream: {exc}", status=502, retryable=False)
    return connection_error(request, exc)


class _Stream:
    """An open streaming answer; the connection goes back to the pool at its end."""

    def __init__(
        self,
        transport: HttpTransport,
        connection: Connection,
        request: UpstreamRequest,
        timeout: float,
    ) -> None:
        self._transport = transport
        self._connection: Connection | None = connection
        self._request = request
        self._timeout = timeout
        self.status = connection.status
        self.headers: Mapping[str, str] = connection.headers

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
                connection.resume()
                yield data
                continue
            if connection.error is not None:
                error = connection.error
                self._finish()
                if isinstance(error, TimeoutError):
                    raise upstream_timeout(self._request, self._timeout)
                raise _failure(self._request, error)
            if connection.complete:
                self._finish()
                return
            reader = connection.reader = loop.create_future()
            timer = loop.call_later(self._timeout, connection.expire)
            try:
                await reader
            finally:
                timer.cancel()
                connection.reader = None

    async def read(self) -> bytes:
        chunks = [data async for data in self.chunks()]
        return b"".join(chunks)

    def _finish(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            self._transport._release(connection)

    async def aclose(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        if connection.complete and not connection.body:
            self._transport._release(connection)
        else:
            self._transport._discard(connection)  # cut short: the rest is not wanted
