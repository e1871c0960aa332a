"""One HTTP/1.1 connection's wire: the bytes of a request for a URL, and its answer
read as it arrives (framing, gzip/deflate, caps, back pressure).

The answer is read strictly. The header block is found and capped here before httptools
sees it; httptools (llhttp) parses it and the chunked framing; this module decides the
framing (RFC 9112 section 6.3: no body for HEAD, 1xx, 204 and 304; chunked when it is the
last transfer coding; else Content-Length; else until the close) and feeds the parser
exactly one message, so no byte of a later message ever reaches the current answer.
Any byte after a complete answer makes the connection unusable.
"""

from __future__ import annotations

import asyncio
import re
import select
import zlib
from collections.abc import Mapping, MutableSet
from urllib.parse import quote, urlsplit

import httptools

from .._version import __version__
from .base import UpstreamRequest
from .inflate import STEP, BodyDecoder
from .proxies import HttpProxy, basic_credentials, bypassed

__all__ = [
    "MAX_HEADERS",
    "MAX_HEADER_BYTES",
    "PAUSE_ABOVE",
    "Connection",
    "Limits",
    "OriginKey",
    "ProtocolError",
    "ResponseTooLarge",
    "Target",
    "encode_request",
]

PAUSE_ABOVE = 1 << 20
"""Stream bytes buffered before the socket stops being read (the client is slow)."""
MAX_HEADER_BYTES = 65536
"""Largest response header block (status line and fields) accepted."""
MAX_HEADERS = 256
"""Most header lines in one response header block."""

_DEFAULT_HEADERS = (("accept-encoding", "identity"), ("user-agent", f"liter-llm/{__version__}"))
"""Sent unless the request has its own."""
_FRAMING = frozenset({"host", "content-length", "transfer-encoding", "connection"})
"""Headers the client writes itself; the same names in a request are dropped."""
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
"""A header name (RFC 9110 section 5.1: a token)."""
_UNSAFE_IN_TARGET = re.compile(r"[^\x21-\x7e]")
_FOLD = re.compile(rb"\r\n[ \t]+")
_KNOWN_NAMES_MAX = 1024

OriginKey = tuple[str, str, int]


class ProtocolError(Exception):
    """The upstream's answer broke HTTP/1.1 (or our caps): the connection is unusable."""


class ResponseTooLarge(ProtocolError):
    """A body or stream event over the configured cap."""


class Limits:
    """What one answer may make the client hold."""

    __slots__ = ("max_body", "max_event")

    def __init__(self, max_body: int, max_event: int) -> None:
        self.max_body = max_body
        self.max_event = max_event


def _quote_target(text: str, safe: str) -> str:
    """Space, control and non-ASCII characters percent-encoded (UTF-8); the rest kept."""
    if _UNSAFE_IN_TARGET.search(text) is None:
        return text
    return quote(text, safe=safe + "%")


class Target:
    """What one URL needs on the wire, worked out once per URL."""

    __slots__ = ("basic", "breaks", "head", "host", "key", "port", "proxy", "tls")

    def __init__(self, url: str, proxies: Mapping[str, str]) -> None:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"cannot send to {url!r}: only http:// and https:// URLs")
        if _UNSAFE_IN_TARGET.search(parts.netloc) is not None:
            raise ValueError("the upstream URL's host contains a space or control character")
        self.tls = scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.tls else 80)
        self.key: OriginKey = (scheme, self.host, self.port)
        netloc = parts.netloc.rpartition("@")[2]
        path = _quote_target(parts.path or "/", "/!$&'()*+,;=:@-._~")
        if parts.query:
            path += "?" + _quote_target(parts.query, "/?!$&'()*+,;=:@-._~")
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


def _check_names(headers: Mapping[str, str], known: MutableSet[str]) -> None:
    for name in headers:
        if name not in known:
            if _TOKEN.fullmatch(name) is None:
                raise ValueError(f"invalid upstream header name {name[:40]!r}")
            if len(known) >= _KNOWN_NAMES_MAX:
                known.clear()  # names come from adapters and config: this bounds oddities
            known.add(name)


def encode_request(
    request: UpstreamRequest, target: Target, known_names: MutableSet[str] | None = None
) -> bytes:
    """The request's bytes on the wire; ValueError for a header that would break them.

    `known_names` remembers header names already found valid (a token), so the check
    costs a set lookup per header.
    """
    headers = request.headers
    _check_names(headers, set() if known_names is None else known_names)
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


# framing of the answer being read
_NONE, _LENGTH, _CHUNKED, _UNTIL_CLOSE = range(4)
# where the answer is
_HEAD, _BODY, _DONE = range(3)


class Connection(asyncio.Protocol):
    """One keep-alive connection; serves one request at a time.

    `begin()` arms it for an answer; bytes from the socket go through `data_received`.
    Without a socket (tests), set `transport` to None and feed `data_received` directly.
    """

    def __init__(self, key: OriginKey, limits: Limits | None = None) -> None:
        self.key = key
        self.limits = limits or Limits(1 << 62, 1 << 62)
        self.transport: asyncio.Transport | None = None
        self.poller: select.poll | None = None
        """Polls the socket while the connection is idle (None: no socket)."""
        self.closed = False
        self.idle_since = 0.0
        """When the connection last went back to the pool (the pool's clock)."""
        self._parser: httptools.HttpResponseParser | None = None
        self._active = False
        self._phase = _DONE
        self.status = 0
        self.headers: dict[str, str] = {}
        self.body: list[bytes] = []
        self.buffered = 0
        self.total = 0
        self.complete = False
        self.keep_alive = False
        self.error: BaseException | None = None
        self.streaming = False
        self._head_request = False
        self._paused = False
        self._head = bytearray()
        self._raw_headers: list[tuple[bytes, bytes]] = []
        self._decode: BodyDecoder | None = None
        self._interim = False
        self._http11 = False
        self._framing = _NONE
        self._remaining = self._length = 0
        self._tail = b""
        self._problem: ProtocolError | None = None
        self.waiter: asyncio.Future[None] | None = None
        """Resolved when the answer is complete (or, streaming, when its headers are in)."""
        self.reader: asyncio.Future[None] | None = None
        """A stream's consumer waiting for more body."""

    def begin(self, streaming: bool, head: bool = False) -> asyncio.Future[None]:
        self._active = True
        self._phase = _HEAD
        self.streaming = streaming
        self._head_request = head
        self.status = 0
        self.headers = {}
        self.body = []
        self.buffered = self.total = 0
        self.complete = self.keep_alive = False
        self.error = self._problem = None
        if self._head:
            self._head = bytearray()
        self._raw_headers = []
        self._decode = None
        self._interim = False
        self._tail = b""
        self.reader = None
        self.waiter = waiter = asyncio.get_running_loop().create_future()
        return waiter

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def reusable(self) -> bool:
        return self.complete and self.keep_alive and not self.closed and self.error is None

    @property
    def draining(self) -> bool:
        """Whether inflated body is still to come from input already read."""
        return self._decode is not None and self._decode.pending

    # -- asyncio.Protocol ---------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            self.poller = select.poll()
            self.poller.register(sock.fileno(), select.POLLIN)

    def data_received(self, data: bytes) -> None:
        if not self._active:
            self._refuse()  # bytes nobody asked for (or after a complete answer)
            return
        try:
            while data:
                phase = self._phase
                if phase == _HEAD:
                    data = self._read_head(data)
                elif phase == _BODY:
                    data = self._read_body(data)
                else:
                    self._refuse()
                    return
        except Exception as exc:  # httptools' errors, our own, zlib's
            if self._phase == _DONE and self.error is None:
                self._refuse()  # the answer was whole; what followed it is not
                return
            problem = self._problem
            self._fail(problem if problem is not None else _protocol_error(exc))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self._active or self._phase == _DONE:
            return
        if self._phase == _BODY and self._framing == _UNTIL_CLOSE and exc is None:
            self._finish(False)  # the body was delimited by the close
        else:
            self._fail(exc or ConnectionResetError("the upstream closed the connection"))

    def pause_if_full(self) -> None:
        if self.buffered > PAUSE_ABOVE and not self._paused and self.transport is not None:
            self._paused = True
            self.transport.pause_reading()

    def resume(self) -> None:
        """The reader took the buffered body: inflate more, or read the socket again."""
        decode = self._decode
        if decode is not None and decode.pending:
            try:
                self._inflate(decode)
            except Exception as exc:
                self._fail(self._problem or _protocol_error(exc))
                self.close()
                return
            if decode.pending:
                return
            if self._phase == _DONE and self.error is None:
                self._wake_reader()
        if self._paused and self.transport is not None and not self.closed:
            self._paused = False
            self.transport.resume_reading()

    # -- reading the answer -------------------------------------------------------------

    def _read_head(self, data: bytes) -> bytes:
        """Collect one header block (capped) and parse it; return the bytes after it."""
        buffer = self._head
        if buffer:
            start = max(len(buffer) - 3, 0)
            buffer += data
            end = buffer.find(b"\r\n\r\n", start)
        else:
            end = data.find(b"\r\n\r\n")
        if end < 0:
            if not buffer:
                buffer += data
            if len(buffer) > MAX_HEADER_BYTES:
                raise ProtocolError(f"response header block over {MAX_HEADER_BYTES} bytes")
            if buffer.count(b"\n") > MAX_HEADERS:
                raise ProtocolError(f"response with over {MAX_HEADERS} header lines")
            return b""
        end += 4
        if end > MAX_HEADER_BYTES:
            raise ProtocolError(f"response header block over {MAX_HEADER_BYTES} bytes")
        if buffer:
            data = bytes(buffer)
            self._head = bytearray()
        line = data[:10]
        self._http11 = http11 = line[:9] == b"HTTP/1.1 "
        if not (http11 or line.startswith(b"HTTP/")):
            raise ProtocolError("the response does not start with a status line")
        if data.count(b"\n", 0, end) > MAX_HEADERS + 1:
            raise ProtocolError(f"response with over {MAX_HEADERS} header lines")
        parser = self._parser
        if parser is None:
            parser = self._parser = httptools.HttpResponseParser(self)
        self._phase = _BODY
        folded = data.find(b"\n ", 0, end) >= 0 or data.find(b"\n\t", 0, end) >= 0
        if http11 and line[9] != 49 and not (folded or self._head_request):
            # the common case, one final answer (not 1xx): the parser reads all in one call
            parser.feed_data(data)
            self._after_one_feed(data, len(data) - end)
            return b""
        parser.feed_data(self._unfold(data[:end]) if folded else data[:end])
        if self._phase == _BODY and self._framing == _NONE:
            self._finish(False)  # e.g. HEAD: any Content-Length describes no body
        return data[end:]

    def _after_one_feed(self, data: bytes, body_bytes: int) -> None:
        """The header block and `body_bytes` more were fed: anything past the end of the
        answer (llhttp skips empty lines there) makes the connection unusable."""
        framing = self._framing
        if self._phase == _DONE:
            if framing == _CHUNKED:
                if len(data) - len(data.rstrip(b"\r\n")) != 4:
                    self._refuse()
            elif body_bytes > (self._length if framing == _LENGTH else 0):
                self._refuse()
        elif framing == _LENGTH:
            self._remaining = self._length - body_bytes
        elif framing == _CHUNKED:
            self._tail = data[-8:]

    def _unfold(self, block: bytes) -> bytes:
        """obs-fold (RFC 9112 section 5.2): a line folded onto the next becomes one line,
        the fold replaced by a space. A fold right after the status line is refused."""
        first = block.index(b"\r\n")
        if block[first + 2 : first + 3] in (b" ", b"\t"):
            raise ProtocolError("a folded line right after the status line")
        return _FOLD.sub(b" ", block)

    def _read_body(self, data: bytes) -> bytes:
        parser = self._parser
        assert parser is not None
        framing = self._framing
        if framing == _LENGTH:
            remaining = self._remaining
            if len(data) > remaining:
                data, rest = data[:remaining], data[remaining:]
            else:
                rest = b""
            self._remaining = remaining - len(data)
            parser.feed_data(data)
            return rest
        parser.feed_data(data)
        if framing == _CHUNKED:
            tail = self._tail + data if len(data) < 8 else data
            if self._phase == _DONE:
                # llhttp skips empty lines after a message: they are bytes after it all the
                # same. A chunked body ends with exactly CRLF CRLF.
                if len(tail) - len(tail.rstrip(b"\r\n")) != 4:
                    self._refuse()
            else:
                self._tail = tail[-8:]
        return b""

    # -- httptools callbacks ------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        self._raw_headers.append((name, value))

    def on_headers_complete(self) -> None:
        if self._phase == _DONE:
            raise ProtocolError("a second response after a complete one")
        assert self._parser is not None
        status = self._parser.get_status_code()
        if status < 200:
            if status == 101:
                self._problem = ProtocolError("an unrequested 101 Switching Protocols")
                raise self._problem
            self._interim = True  # e.g. 100 Continue: the real answer follows
            self._raw_headers = []
            return
        self.status = status
        headers = self.headers
        for raw_name, raw_value in self._raw_headers:
            name = raw_name.decode("latin-1").lower()
            value = raw_value.decode("latin-1")
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        self._raw_headers = []
        coding = headers.get("content-encoding", "identity").strip().lower()
        if coding in ("gzip", "x-gzip", "deflate"):
            self._decode = BodyDecoder("deflate" if coding == "deflate" else "gzip")
        elif coding != "identity":
            self._problem = ProtocolError(f"unsupported content-encoding {coding[:40]!r}")
            raise self._problem
        self._framing = self._framing_of(status, headers)
        if self.streaming:
            self._wake_waiter()

    def _framing_of(self, status: int, headers: Mapping[str, str]) -> int:
        transfer = headers.get("transfer-encoding")
        if transfer is not None:
            codings = [c.strip().lower() for c in transfer.split(",")]
            # The last coding decides the framing (RFC 9112 section 6.3): chunked, or else
            # the body runs until the close. Only chunked is decoded here, so any other
            # coding, which would leave the body encoded, is refused.
            if codings != ["chunked"]:
                self._problem = ProtocolError(
                    f"unsupported transfer-encoding {transfer[:40]!r} (only chunked)"
                )
                raise self._problem
        if self._head_request or status in (204, 304):
            return _NONE
        if transfer is not None:
            self._tail = b""
            return _CHUNKED
        length = headers.get("content-length")
        if length is not None:
            self._length = self._remaining = int(length)  # llhttp checked the digits
            return _LENGTH if self._length else _NONE
        return _UNTIL_CLOSE

    def on_body(self, body: bytes) -> None:
        decode = self._decode
        if decode is None:
            if self.streaming:
                self._take(body)
                return
            self.body.append(body)
            self.total += len(body)
            if self.total > self.limits.max_body:
                self._too_large()
            return
        decode.feed(body)
        self._inflate(decode)

    def _inflate(self, decode: BodyDecoder) -> None:
        streaming = self.streaming
        while not streaming or self.buffered < PAUSE_ABOVE:
            try:
                out = decode.step(STEP)
            except zlib.error as exc:
                self._problem = ProtocolError(f"corrupt compressed body ({exc})")
                raise self._problem from None
            if not out:
                return
            self._take(out)
        if decode.pending and not self._paused and self.transport is not None:
            self._paused = True  # inflate the rest once the reader has taken this
            self.transport.pause_reading()

    def _take(self, data: bytes) -> None:
        self.body.append(data)
        if self.streaming:
            self.buffered += len(data)
            self.pause_if_full()
            self._wake_reader()
            return
        self.total += len(data)
        if self.total > self.limits.max_body:
            self._too_large()

    def _too_large(self) -> None:
        self._problem = ResponseTooLarge(
            f"response body over {self.limits.max_body} bytes (after decompression)"
        )
        raise self._problem

    def on_message_complete(self) -> None:
        if self._interim:
            self._interim = False
            self._phase = _HEAD  # the final answer's header block follows
            return
        self._finish(True)

    # -- ending the answer --------------------------------------------------------------

    def _finish(self, parsed: bool) -> None:
        """The answer is whole. `parsed`: llhttp saw its end too, so the parser is
        ready for the next answer on this connection (else a new one is made)."""
        if self._phase == _DONE:
            return
        self._phase = _DONE
        self.complete = True
        self._active = False
        parser = self._parser
        # HTTP/1.0's keep-alive is not trusted: only 1.1 connections are reused
        self.keep_alive = (
            parser is not None
            and self._framing != _UNTIL_CLOSE
            and self._http11
            and parser.should_keep_alive()
        )
        if not parsed:
            self._parser = None
        self._wake_waiter()
        self._wake_reader()

    def _refuse(self) -> None:
        """Bytes after the answer: this connection can never be used again."""
        self.keep_alive = False
        self.close()

    # -- waking the waiting task ------------------------------------------------------

    def _fail(self, exc: BaseException) -> None:
        self._parser = None
        if self.error is None:
            self.error = exc
        self._active = False
        self._phase = _DONE
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


def _protocol_error(exc: BaseException) -> ProtocolError:
    if isinstance(exc, ProtocolError):
        return exc
    reason = str(exc)[:120] or type(exc).__name__
    return ProtocolError(f"malformed response from upstream ({reason})")
