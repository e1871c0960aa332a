"""The upstream transport seam: send one request, or open a stream of bytes.

The default implementation is `literllm.transport.client.HttpTransport`
(`literllm.transport.aiohttp_client.AiohttpTransport` is the alternative); tests and users plug in
`literllm.testing.FakeUpstream`. Transports raise `UpstreamError` for connection
failures (status 502) and when `timeout` runs out (status 504, type `timeout`), both
retryable (`literllm.transport.errors` maps every client's failures); HTTP error statuses are
returned, not raised, so the provider adapter can map the body.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Protocol

from ..types import UpstreamRequest, UpstreamResponse

__all__ = ["StreamResponse", "Transport", "UpstreamRequest", "UpstreamResponse"]


class StreamResponse(Protocol):
    """An open streaming response; iterate `chunks()` for body bytes as they arrive."""

    status: int
    headers: Mapping[str, str]

    def chunks(self) -> AsyncIterator[bytes]: ...

    async def read(self) -> bytes:
        """The whole remaining body (used for error statuses)."""

    async def aclose(self) -> None: ...


class Transport(Protocol):
    async def send(self, request: UpstreamRequest, *, timeout: float) -> UpstreamResponse: ...

    async def open_stream(self, request: UpstreamRequest, *, timeout: float) -> StreamResponse:
        """Send the request and return once the status and headers have arrived.

        `timeout` bounds the time to the response headers and each gap between chunks.
        """

    async def aclose(self) -> None: ...
