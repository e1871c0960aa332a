"""The default upstream transport: HTTP/1.1 over asyncio, parsed by httptools.

A gateway makes one kind of call: a POST (now and then a GET) with a small JSON body to
a handful of hosts, answered with JSON or a server-sent-event stream. This client does
that and nothing else, over pooled keep-alive connections, and spends about a fifth of
the CPU aiohttp does per call (benchmarks: a bare forwarder serves 3.3x the requests;
see docs/performance.md). `literllm.aiohttp_transport` remains for those who want
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
import base64
import ssl
import zlib
from collections.abc import AsyncIterator, Mapping
from urllib.parse import unquote, urlsplit

import httptools

from . import __version__
from .errors import UpstreamError
from .transport import UpstreamRequest, UpstreamResponse
from .upstream import connection_error, upstream_timeout

__all__ = ["HttpTransport", "proxies_from"]

_IDLE_PER_HOST = 256
"""Idle connections kept per host; more are closed when they come back."""
_PAUSE_ABOVE = 1 << 20
"""Stream bytes buffered before the socket stops being read (the client is slow)."""
_DEFAULT_HEADERS = (("accept-encoding", "identity"), ("user-agent", f"liter-llm/{__version__}"))
"""Sent unless the request has its own."""

_FRAMING = frozenset({"host", "content-length", "transfer-encoding", "connection"})
"""Headers the client writes itself; the same names in a request are dropped."""

OriginKey = tuple[str, str, int]


class _Proxy:
    """An HTTP proxy (`http://[user:password@]host[:port]`)."""

    __slots__ = ("authorization", "host", "port")

    def __init__(self, url: str) -> None:
        parts = urlsplit(url if "://" in url else "http://" + url)
        if parts.scheme.lower() != "http" or not parts.hostname:
            shown = f"{parts.scheme}://{parts.hostname or ''}"  # never its password
            raise ValueError(f"proxy {shown!r}: only http:// proxies are supported")
        self.host = parts.hostname
        self.port = parts.port or 80
        self.authorization = _basic(parts.username, parts.password)


def _basic(username: str | None, password: str | None) -> str | None:
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


def _bypassed(host: str, no_proxy: str) -> bool:
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


class _Target:
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
        self.proxy: _Proxy | None = None
        chosen = proxies.get(scheme)
        if chosen and not _bypassed(self.host, proxies.get("no", "")):
            self.proxy = _Proxy(chosen)
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
        self.basic = _basic(parts.username, parts.password)


class _Tunnel(asyncio.Protocol):
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

    async def open(self, target: _Target, proxy: _Proxy) -> None:
        host = f"[{target.host}]" if ":" in target.host else target.host
        head = f"CONNECT {host}:{target.port} HTTP/1.1\r\nhost: {host}:{target.port}\r\n"
        if proxy.authorization is not None:
            head += f"proxy-authorization: {proxy.authorization}\r\n"
        assert self.transport is not None
        self.transport.write((head + "\r\n").encode("latin-1"))
        await self._opened


def _encode_request(request: UpstreamRequest, target: _Target) -> bytes:
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


class _Decoder:
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


class _Connection(asyncio.Protocol):
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
        self._decode: _Decoder | None = None
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
        if self.buffered > _PAUSE_ABOVE and not self._paused and self.transport is not None:
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
            self._decode = _Decoder("deflate" if coding == "deflate" else "gzip")
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
                _Proxy(self._proxies[kind])  # a bad proxy URL is refused now, not per call
        self._idle: dict[OriginKey, list[_Connection]] = {}
        self._targets: dict[str, _Target] = {}
        self._open: set[_Connection] = set()

    def _target(self, url: str) -> _Target:
        target = self._targets.get(url)
        if target is None:
            target = _Target(url, self._proxies)
            if len(self._targets) >= 4096:
                self._targets.clear()  # URLs are per deployment; this only bounds oddities
            self._targets[url] = target
        return target

    def _tls(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = ssl.create_default_context()
        return self._ssl

    async def _connect(self, target: _Target, timeout: float) -> _Connection:
        connection = await asyncio.wait_for(self._open_connection(target), timeout)
        self._open.add(connection)
        return connection

    async def _open_connection(self, target: _Target) -> _Connection:
        loop = asyncio.get_running_loop()
        key = target.key
        proxy = target.proxy
        if proxy is None or not target.tls:
            _, connection = await loop.create_connection(
                lambda: _Connection(key),
                target.host if proxy is None else proxy.host,
                target.port if proxy is None else proxy.port,
                ssl=self._tls() if target.tls else None,
                server_hostname=target.host if target.tls else None,
            )
            return connection
        raw, tunnel = await loop.create_connection(_Tunnel, proxy.host, proxy.port)
        try:
            await tunnel.open(target, proxy)
            connection = _Connection(key)
            secured = await loop.start_tls(
                raw, connection, self._tls(), server_hostname=target.host
            )
        except BaseException:
            raw.close()
            raise
        assert secured is not None
        connection.connection_made(secured)
        return connection

    def _pooled(self, key: OriginKey) -> _Connection | None:
        idle = self._idle.get(key)
        while idle:
            connection = idle.pop()
            transport = connection.transport
            if not connection.closed and transport is not None and not transport.is_closing():
                return connection
            self._discard(connection)
        return None

    def _release(self, connection: _Connection) -> None:
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

    def _discard(self, connection: _Connection) -> None:
        connection.close()
        self._open.discard(connection)

    async def _exchange(
        self, request: UpstreamRequest, timeout: float, streaming: bool
    ) -> _Connection:
        """Send `request`; return its connection once the answer (or, streaming, its
        headers) is in. The connection is the caller's to release."""
        target = self._target(request.url)
        data = _encode_request(request, target)
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
        connection: _Connection,
        request: UpstreamRequest,
        timeout: float,
    ) -> None:
        self._transport = transport
        self._connection: _Connection | None = connection
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
