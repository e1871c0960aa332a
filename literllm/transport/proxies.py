"""HTTP proxies for upstream calls: which host goes through which proxy, and the
`CONNECT` tunnel that carries TLS through one."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Mapping
from urllib.parse import unquote, urlsplit

__all__ = ["HttpProxy", "Tunnel", "basic_credentials", "bypassed", "proxies_from"]


class HttpProxy:
    """An HTTP proxy (`http://[user:password@]host[:port]`)."""

    __slots__ = ("authorization", "host", "port")

    def __init__(self, url: str) -> None:
        parts = urlsplit(url if "://" in url else "http://" + url)
        if parts.scheme.lower() != "http" or not parts.hostname:
            shown = f"{parts.scheme}://{parts.hostname or ''}"  # never its password
            raise ValueError(f"proxy {shown!r}: only http:// proxies are supported")
        self.host = parts.hostname
        self.port = parts.port or 80
        self.authorization = basic_credentials(parts.username, parts.password)


def basic_credentials(username: str | None, password: str | None) -> str | None:
    if username is None:
        return None
    pair = f"{unquote(username)}:{unquote(password or '')}"
    return "Basic " + base64.b64encode(pair.encode()).decode()


def proxies_from(environ: Mapping[str, str]) -> dict[str, str]:
    """`http_proxy`, `https_proxy` and `no_proxy` from `environ` (the lower-case name
    first, as curl reads them), as `HttpTransport(proxies=...)` takes them."""
    found: dict[str, str] = {}
    for kind in ("http", "https", "no"):
        value = environ.get(f"{kind}_proxy") or environ.get(f"{kind.upper()}_PROXY")
        if value:
            found[kind] = value
    return found


def bypassed(host: str, no_proxy: str) -> bool:
    """Whether `no_proxy` (`*`, or names: `example.com` and `.example.com` both cover
    `api.example.com`; an optional `:port` is ignored) exempts `host`."""
    host = host.lower().rstrip(".")
    for entry in no_proxy.split(","):
        name = entry.strip().lower()
        if name.startswith("[") and "]" in name:
            name = name[1 : name.index("]")]
        elif name.count(":") == 1:
            name = name.split(":")[0]
        name = name.lstrip(".").rstrip(".")
        if name == "*" or (name and (host == name or host.endswith("." + name))):
            return True
    return False


class Tunnel(asyncio.Protocol):
    """`CONNECT host:port` through a proxy; once it answers 200, TLS takes over."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self._answer = b""
        self._opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self._opened.done():
            return
        self._answer += data
        if b"\r\n\r\n" not in self._answer:
            return
        status_line = self._answer.split(b"\r\n", 1)[0].split(b" ", 2)
        status = status_line[1] if len(status_line) > 1 else b"?"
        if status == b"200":
            self._opened.set_result(None)
        else:
            reason = f"the proxy refused the tunnel ({status.decode('latin-1')})"
            self._opened.set_exception(ConnectionRefusedError(reason))

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._opened.done():
            self._opened.set_exception(ConnectionResetError("the proxy closed the connection"))

    async def open(self, host: str, port: int, proxy: HttpProxy) -> None:
        host = f"[{host}]" if ":" in host else host
        head = f"CONNECT {host}:{port} HTTP/1.1\r\nhost: {host}:{port}\r\n"
        if proxy.authorization is not None:
            head += f"proxy-authorization: {proxy.authorization}\r\n"
        assert self.transport is not None
        self.transport.write((head + "\r\n").encode("latin-1"))
        await self._opened
