"""One HTTP/1.1 connection's wire: the bytes of a request for a URL, and its answer
read by httptools as it arrives (framing, gzip/deflate, back pressure)."""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Mapping
from urllib.parse import urlsplit

import httptools

from .._version import __version__
from .base import UpstreamRequest
from .proxies import HttpProxy, basic_credentials, bypassed

__all__ = ["PAUSE_ABOVE", "BodyDecoder", "Connection", "OriginKey", "Target", "encode_request"]

PAUSE_ABOVE = 1 << 20
"""Stream bytes buffered before the socket stops being read (the client is slow)."""
_DEFAULT_HEADERS = (("accept-encoding", "identity"), ("user-agent", f"liter-llm/{__version__}"))
"""Sent unless the request has its own."""

_FRAMING = frozenset({"host", "content-length", "transfer-encoding", "connection"})
"""Headers the client writes itself; the same names in a request are dropped."""

OriginKey = tuple[str, str, int]


class Target:
    """What one URL needs on the wire, worked out once per URL."""

    __slots__ = ("basic", "breaks", "head", "host", "key", "port", "proxy", "tls")

    def __init__(self, url: str, proxies: Mapping[str, str]) -> None:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"cannot send to {url!r}: only http:// and https:// URLs")
        self.tls = scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.tls else 80)
        self.key: OriginKey = (scheme, self.host, self.port)
        netloc = parts.netloc.rpartition("@")[2]
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        self.proxy: HttpProxy | None = None
        chosen = proxies.get(scheme)
        if chosen and not bypassed(self.host, proxies.get("no", "")):
            self.proxy = HttpProxy(chosen)
        if self.proxy is not None and not self.tls:
            # plain HTTP through a proxy: absolute-form request line, sent to the proxy
            proxy = self.proxy
            self.key = ("http+proxy", proxy.host, proxy.port)
            self.head = f" http://{netloc}{path} HTTP/1.1\r\nhost: {netloc}\r\n"
            if proxy.authorization is not None:
                self.head += f"proxy-authorization: {proxy.authorization}\r\n"
        else:
            self.head = f" {path} HTTP/1.1\r\nhost: {netloc}\r\n"
        self.breaks = self.head.count("\n")
        self.basic = basic_credentials(parts.username, parts.password)


def encode_request(request: UpstreamRequest, target: Target) -> bytes:
    """The request's bytes on the wire; ValueError for a header that would break them."""
    headers = request.headers
    names = {name.lower() for name in headers}
    lines = [request.method, target.head]
    breaks = target.breaks
    if target.basic is not None and "authorization" not in names:
        lines.append(f"authorization: {target.basic}\r\n")
        breaks += 1
    if names.isdisjoint(_FRAMING):
        for name, value in headers.items():
            lines.append(f"{name}: {value}\r\n")
    else:  # the framing is ours to write: a caller's copy could contradict it
        kept = {k: v for k, v in headers.items() if k.lower() not in _FRAMING}
        for name, value in kept.items():
            lines.append(f"{name}: {value}\r\n")
        breaks -= len(headers) - len(kept)
    body = request.body
    if body or request.method not in ("GET", "HEAD"):
        lines.append(f"content-length: {len(body)}\r\n")
        breaks += 1
    for name, value in _DEFAULT_HEADERS:
        if name not in names:
            lines.append(f"{name}: {value}\r\n")
            breaks += 1
    lines.append("\r\n")
    head = "".join(lines)
    breaks += len(headers) + 1
    if head.count("\n") != breaks or head.count("\r") != breaks or "\0" in head:
        raise ValueError("an upstream header name or value contains CR, LF or NUL")
    try:
        return head.encode("latin-1") + body
    except UnicodeEncodeError:
        raise ValueError("an upstream header name or value is not latin-1 text") from None


class BodyDecoder:
    """A gzip or deflate body, decoded as it arrives."""

    def __init__(self, coding: str) -> None:
        # 47: gzip or zlib header, detected; deflate without a header is tried below
        self._inflate = zlib.decompressobj(47 if coding == "gzip" else 15)
        self._raw = coding == "deflate"

    def __call__(self, data: bytes) -> bytes:
        try:
            return self._inflate.decompress(data)
        except zlib.error:
            if not self._raw:
                raise
            self._raw = False  # a bare deflate stream, as some servers send
            self._inflate = zlib.decompressobj(-15)
            return self._inflate.decompress(data)


class Connection(asyncio.Protocol):
    """One keep-alive connection; serves one request at a time."""

    def __init__(self, key: OriginKey) -> None:
        self.key = key
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self._parser = httptools.HttpResponseParser(self)
        self._active = False
        self.status = 0
        self.headers: dict[str, str] = {}
        self.body: list[bytes] = []
        self.buffered = 0
        self.complete = False
        self.keep_alive = False
        self.answered = False
        """Whether any byte of the current answer has arrived."""
        self.error: BaseException | None = None
        self.streaming = False
        self._paused = False
        self._raw_headers: list[tuple[bytes, bytes]] = []
        self._decode: BodyDecoder | None = None
        self._informational = False
        self._until_close = False
        self.waiter: asyncio.Future[None] | None = None
        """Resolved when the answer is complete (or, streaming, when its headers are in)."""
        self.reader: asyncio.Future[None] | None = None
        """A stream's consumer waiting for more body."""

    def begin(self, streaming: bool) -> asyncio.Future[None]:
        self._active = True
        self.streaming = streaming
        self.status = 0
        self.headers = {}
        self.body = []
        self.buffered = 0
        self.complete = self.answered = self.keep_alive = False
        self.error = None
        self._raw_headers = []
        self._decode = None
        self._informational = self._until_close = False
        self.reader = None
        self.waiter = waiter = asyncio.get_running_loop().create_future()
        return waiter

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def reusable(self) -> bool:
        return self.complete and self.keep_alive and not self.closed and self.error is None

    # -- asyncio.Protocol ---------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if not self._active:
            self.close()  # bytes nobody asked for: the connection is not usable
            return
        self.answered = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(exc)
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self._active or self.complete:
            return
        if self._until_close and self.status and exc is None:
            self.on_message_complete()  # the body was delimited by the close
        else:
            self._fail(exc or ConnectionResetError("the upstream closed the connection"))

    def pause_if_full(self) -> None:
        if self.buffered > PAUSE_ABOVE and not self._paused and self.transport is not None:
            self._paused = True
            self.transport.pause_reading()

    def resume(self) -> None:
        if self._paused and self.transport is not None and not self.closed:
            self._paused = False
            self.transport.resume_reading()

    # -- httptools callbacks ------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        self._raw_headers.append((name, value))

    def on_headers_complete(self) -> None:
        status = self._parser.get_status_code()
        if 100 <= status < 200:
            self._informational = True  # e.g. 100 Continue: the real answer follows
            self._raw_headers = []
            return
        self.status = status
        headers = self.headers
        for raw_name, raw_value in self._raw_headers:
            name = raw_name.decode("latin-1").lower()
            value = raw_value.decode("latin-1")
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        coding = headers.get("content-encoding", "identity").strip().lower()
        if coding in ("gzip", "x-gzip", "deflate"):
            self._decode = BodyDecoder("deflate" if coding == "deflate" else "gzip")
        elif coding != "identity":
            self._fail(ValueError(f"unsupported content-encoding {coding!r}"))
            self.close()
            return
        self._until_close = (
            status not in (204, 304)
            and "content-length" not in headers
            and "chunked" not in headers.get("transfer-encoding", "").lower()
        )
        if self.streaming:
            self._wake_waiter()

    def on_body(self, body: bytes) -> None:
        if self._decode is not None:
            try:
                body = self._decode(body)
            except zlib.error as exc:
                self._fail(exc)
                self.close()
                return
        self.body.append(body)
        if self.streaming:
            self.buffered += len(body)
            self.pause_if_full()
            self._wake_reader()

    def on_message_complete(self) -> None:
        if self._informational:
            self._informational = False
            return
        self.complete = True
        self._active = False
        self.keep_alive = self._parser.should_keep_alive() and not self._until_close
        self._wake_waiter()
        self._wake_reader()

    # -- waking the waiting task ------------------------------------------------------

    def _fail(self, exc: BaseException) -> None:
        if self.error is None:
            self.error = exc
        self._active = False
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)
        self._wake_reader()

    def _wake_waiter(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _wake_reader(self) -> None:
        reader = self.reader
        if reader is not None and not reader.done():
            reader.set_result(None)

    def expire(self) -> None:
        """The timeout ran out: fail the wait and drop the connection."""
        self._fail(TimeoutError())
        self.close()
