"""The upstream transport seam and its implementations.

`base` is the seam (`Transport`, `UpstreamRequest`, `UpstreamResponse`,
`StreamResponse`); `client` is the default pooled HTTP/1.1 client (on `wire` and
`proxies`), imported when a `Proxy` is built; `aiohttp_client` is the opt-in aiohttp
transport; `dispatching` answers `mock://` in-process (`mock`) and sends the rest on.
"""

from .base import StreamResponse, Transport, UpstreamRequest, UpstreamResponse

__all__ = ["StreamResponse", "Transport", "UpstreamRequest", "UpstreamResponse"]
