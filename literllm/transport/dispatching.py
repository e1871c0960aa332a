"""Routing requests to the right transport.

`mock://` URLs are answered in-process by `literllm.transport.mock.MockUpstream`, so the built-in
mock provider needs no network; everything else goes to the pooled HTTP client of
`literllm.transport.client` (imported when a `Proxy` is built, not with `literllm`).
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

from .base import StreamResponse, Transport, UpstreamRequest, UpstreamResponse
from .mock import MockUpstream

__all__ = ["DispatchingTransport"]


class DispatchingTransport:
    """Send `mock://` to the in-process mock and everything else to the network."""

    def __init__(self, network: Transport, mock: Transport | None = None) -> None:
        self._network = network
        self._mock = mock or MockUpstream()

    def _pick(self, request: UpstreamRequest) -> Transport:
        return self._mock if request.url.startswith("mock://") else self._network

    def send(
        self, request: UpstreamRequest, *, timeout: float
    ) -> Coroutine[Any, Any, UpstreamResponse]:
        # not `async`: handing back the chosen transport's coroutine saves a frame
        return self._pick(request).send(request, timeout=timeout)

    async def open_stream(self, request: UpstreamRequest, *, timeout: float) -> StreamResponse:
        return await self._pick(request).open_stream(request, timeout=timeout)

    async def aclose(self) -> None:
        await self._network.aclose()
        await self._mock.aclose()
