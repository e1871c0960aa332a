"""Small ASGI plumbing: read a bounded body, send JSON, send errors."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, MutableMapping
from typing import TYPE_CHECKING, Any, Protocol, cast

import msgspec

from literllm import (
    LiterLLMError,
    Outcome,
    PayloadTooLargeError,
    RequestTimeoutError,
    UnsupportedMediaTypeError,
)

if TYPE_CHECKING:
    from literllm import Proxy

    from .static import StaticFiles
    from .ticker import Ticker

__all__ = [
    "Gateway",
    "Handler",
    "Message",
    "Receive",
    "Request",
    "Scope",
    "Send",
    "body_chunks",
    "error_response",
    "json_body",
    "read_body",
    "send_bytes",
    "send_error",
    "send_json",
    "send_response",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

JSON = b"application/json"
_encode = msgspec.json.Encoder().encode


class Gateway(Protocol):
    """What a route handler may use of the app serving it."""

    proxy: Proxy
    limit: int
    read_timeout: float
    draining: bool
    ui: StaticFiles
    ticker: Ticker
    """Runs a request's delayed actions (its disconnect watcher's start)."""

    def scrub(self, text: str) -> str:
        """`text` with every secret the gateway knows replaced by `***`."""
        ...

    def scrub_route(self, value: str) -> str:
        """`scrub(value)`, for the values of the headers naming a request's route."""
        ...

    def openapi_json(self) -> bytes: ...


Handler = Callable[[Gateway, "Request", Receive, Send], Awaitable[None]]


class Request:
    """The parts of an ASGI request the gateway looks at, decoded once."""

    __slots__ = (
        "arrived",
        "headers",
        "method",
        "outcome",
        "path",
        "request_id",
        "scope",
        "started",
    )

    def __init__(self, scope: Scope, fresh_id: Callable[[], str]) -> None:
        self.scope = scope
        self.arrived = time.time()
        self.started = time.monotonic()
        self.outcome = Outcome(self.started)
        self.method: str = scope["method"]
        self.path: str = scope["path"]
        self.headers = headers = {
            name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]
        }
        incoming = headers.get("x-request-id", "")
        if incoming and len(incoming) <= 128 and incoming.isprintable():
            self.request_id = incoming
        else:
            self.request_id = fresh_id()

    def api_key(self) -> str | None:
        header = self.headers.get("authorization")
        if header:
            scheme, _, token = header.partition(" ")
            if scheme.lower() == "bearer":
                return token.strip() or None
            return None
        return self.headers.get("x-api-key") or self.headers.get("api-key") or None


async def read_body(
    receive: Receive, request: Request, limit: int, timeout: float | None = None
) -> bytes:
    """Read the whole body, refusing (413) as soon as it would pass `limit` bytes, and
    (408) when the client lets `timeout` seconds pass between two parts of it."""
    length = request.headers.get("content-length")
    if (
        length is not None
        and length.isascii()
        and length.isdigit()
        and (len(length) > 18 or int(length) > limit)
    ):
        raise _too_large(limit)
    # The same loop as `body_chunks`, written out: an async generator costs several
    # microseconds on every JSON request.
    chunks: list[bytes] = []
    size = 0
    while True:
        # Most bodies have arrived with their headers, and `receive()` returns at once:
        # only a `receive()` that has to wait for the client gets a timer (arming and
        # cancelling one on every request cost about 5 us).
        waiting = receive().__await__()
        try:
            pending = waiting.send(None)
        except StopIteration as done:
            message: Message = done.value
        else:
            try:
                async with asyncio.timeout(timeout):
                    message = await _Resumed(waiting, pending)
            except TimeoutError:
                raise _too_slow(timeout) from None
        if message["type"] == "http.disconnect":
            raise ConnectionResetError("client disconnected")
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


class _Resumed:
    """The rest of an awaitable whose first step (`send(None)`) has run and yielded
    `pending` (what its task must wait for): awaiting this relays every later step,
    as `yield from` would have."""

    __slots__ = ("_pending", "_steps")

    def __init__(self, steps: Generator[Any, Any, Message], pending: Any) -> None:
        self._steps = steps
        self._pending = pending

    def __await__(self) -> Generator[Any, Any, Message]:
        steps, pending = self._steps, self._pending
        while True:
            try:
                sent = yield pending
            except GeneratorExit:
                steps.close()
                raise
            except BaseException as error:  # cancellation included: the awaitable decides
                try:
                    pending = steps.throw(error)
                except StopIteration as done:
                    return cast(Message, done.value)
                continue
            try:
                pending = steps.send(sent)
            except StopIteration as done:
                return cast(Message, done.value)


async def body_chunks(receive: Receive, timeout: float | None = None) -> AsyncIterator[bytes]:
    """The request body as it arrives (for uploads streamed to storage); a client that
    goes away ends the request, one silent for `timeout` seconds gets 408."""
    while True:
        try:
            async with asyncio.timeout(timeout):
                message = await receive()
        except TimeoutError:
            raise _too_slow(timeout) from None
        if message["type"] == "http.disconnect":
            raise ConnectionResetError("client disconnected")
        chunk = message.get("body", b"")
        if chunk:
            yield chunk
        if not message.get("more_body", False):
            return


def _too_slow(timeout: float | None) -> RequestTimeoutError:
    return RequestTimeoutError(
        f"the request body stalled for {timeout} seconds; send it without pauses "
        "([server] read_timeout_secs)",
        headers={"connection": "close"},
    )


def _too_large(limit: int) -> PayloadTooLargeError:
    return PayloadTooLargeError(
        f"the request body is larger than body_limit_bytes ({limit} bytes); send less, or "
        "ask the operator to raise [server] body_limit_bytes in the gateway's config file"
    )


async def send_bytes(
    send: Send,
    status: int,
    body: bytes,
    headers: list[tuple[bytes, bytes]],
    content_type: bytes = JSON,
) -> None:
    headers.append((b"content-type", content_type))
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def error_response(
    error: LiterLLMError, scrub: Callable[[str], str] | None = None
) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
    """Status, body and headers of `error`; `scrub` takes secrets out of the body (a
    message may quote what the client sent, and a client may send a key as `model`)."""
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in error.headers.items()]
    body = error.to_json()
    if scrub is not None:
        body = scrub(body.decode()).encode()
    return error.status, body, headers


async def send_error(
    send: Send, error: LiterLLMError, scrub: Callable[[str], str] | None = None
) -> None:
    status, body, headers = error_response(error, scrub)
    with contextlib.suppress(RuntimeError, OSError):  # the response had already started
        await send_bytes(send, status, body, headers)


ROUTE_HEADERS = ("x-literllm-route", "x-literllm-provider-model")


def route_scrubbed(app: Gateway, headers: dict[str, str]) -> dict[str, str]:
    """`headers` with the ones naming the route scrubbed: they quote the model a client
    sent (passthrough), and a client may send a key as `model`."""
    for name in ROUTE_HEADERS:
        value = headers.get(name)
        if value is not None:
            headers[name] = app.scrub_route(value)
    return headers


def send_response(send: Send, status: int, body: bytes, headers: dict[str, str]) -> Awaitable[None]:
    """`send_bytes` with `headers` encoded (a plain function returning its coroutine: one
    coroutine fewer on every answer)."""
    encoded = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    return send_bytes(send, status, body, encoded)


async def send_json(
    send: Send, value: Any, status: int = 200, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    await send_bytes(send, status, _encode(value), headers or [])


def json_body(
    request: Request, receive: Receive, limit: int, timeout: float | None = None
) -> Awaitable[bytes]:
    """A JSON request body (415 for another declared content type; 413 past `limit`).
    The content type is checked at once; the body is read when the result is awaited
    (`read_body`'s coroutine, with no coroutine of its own around it)."""
    content_type = request.headers.get("content-type")
    if (
        content_type is not None
        and not content_type.lower().startswith(
            ("application/json", "application/x-json", "text/json")
        )
        and "+json" not in content_type.lower()
    ):
        raise UnsupportedMediaTypeError(
            f"content type {content_type.split(';')[0]!r} is not supported here; send "
            "JSON with 'Content-Type: application/json'"
        )
    return read_body(receive, request, limit, timeout)
