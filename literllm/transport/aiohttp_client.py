"""An upstream transport on aiohttp (the `aiohttp` extra), for those who want it.

The default is `literllm.transport.client.HttpTransport`, which costs far less CPU per call
(docs/dependencies.md). Plug this one in with
`Proxy(config, transport=DispatchingTransport(AiohttpTransport()))`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

import aiohttp

from .base import StreamResponse, UpstreamRequest, UpstreamResponse
from .errors import transport_error

__all__ = ["AiohttpTransport"]


class AiohttpTransport:
    """aiohttp with one connection pool per `Proxy`.

    For `send`, `timeout` bounds the whole exchange. For `open_stream`, it bounds
    getting a connection, then the wait for the response headers, then every gap
    between two chunks, so a long stream that keeps producing is never cut.
    """

    def __init__(self, *, limit: int = 0, limit_per_host: int = 0) -> None:
        self._limit = limit
        self._limit_per_host = limit_per_host
        self._session: aiohttp.ClientSession | None = None
        self._totals: dict[float, aiohttp.ClientTimeout] = {}
        self._gaps: dict[float, aiohttp.ClientTimeout] = {}

    def _total(self, timeout: float) -> aiohttp.ClientTimeout:
        """One ClientTimeout per recent value (most are the configured ones)."""
        found = self._totals.get(timeout)
        if found is None:
            if len(self._totals) >= 256:
                self._totals.clear()  # timeouts cut by a request's deadline vary freely
            found = self._totals[timeout] = aiohttp.ClientTimeout(total=timeout)
        return found

    def _gap(self, timeout: float) -> aiohttp.ClientTimeout:
        found = self._gaps.get(timeout)
        if found is None:
            if len(self._gaps) >= 256:
                self._gaps.clear()
            found = self._gaps[timeout] = aiohttp.ClientTimeout(
                total=None, connect=timeout, sock_read=timeout
            )
        return found

    def _client(self) -> aiohttp.ClientSession:
        session = self._session
        if session is None or session.closed:
            connector = aiohttp.TCPConnector(
                limit=self._limit,
                limit_per_host=self._limit_per_host,
                ttl_dns_cache=300,
                enable_cleanup_closed=True,
            )
            # No skip_auto_headers: skipping one costs aiohttp a header copy per request.
            session = aiohttp.ClientSession(connector=connector, auto_decompress=True)
            self._session = session
        return session

    async def send(self, request: UpstreamRequest, *, timeout: float) -> UpstreamResponse:
        try:
            async with self._client().request(
                request.method,
                request.url,
                headers=request.headers,
                data=request.body,
                timeout=self._total(timeout),
            ) as response:
                body = await response.read()
                return UpstreamResponse(response.status, response.headers, body)
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise transport_error(request, exc, timeout) from None

    async def open_stream(self, request: UpstreamRequest, *, timeout: float) -> StreamResponse:
        client_timeout = self._gap(timeout)
        try:
            # aiohttp's own timers, not asyncio.timeout(): that costs ~5 us a stream
            response = await self._client().request(
                request.method,
                request.url,
                headers=request.headers,
                data=request.body,
                timeout=client_timeout,
            )
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise transport_error(request, exc, timeout) from None
        return _AiohttpStream(response, request, timeout)

    async def aclose(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None


class _AiohttpStream:
    def __init__(
        self, response: aiohttp.ClientResponse, request: UpstreamRequest, timeout: float
    ) -> None:
        self._response = response
        self._request = request
        self._timeout = timeout
        self.status = response.status
        self.headers: Mapping[str, str] = response.headers

    async def chunks(self) -> AsyncIterator[bytes]:
        try:
            async for data in self._response.content.iter_any():
                yield data
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise transport_error(self._request, exc, self._timeout) from None

    async def read(self) -> bytes:
        try:
            return await self._response.read()
        except (TimeoutError, aiohttp.ClientError):
            return b""

    async def aclose(self) -> None:
        self._response.release()
        self._response.close()
