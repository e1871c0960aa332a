"""What a hook is: optional async methods, one per point of a request, and what they see.

Subclass `Hook` and override the points you need; a hook that overrides none is a
configuration mistake. Hooks are shared by every request, so keep per-request state in
`RequestContext.state`.
"""

from __future__ import annotations

import dis
import inspect
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import msgspec

from ..errors import LiterLLMError
from ..types import Usage

__all__ = [
    "POINTS",
    "Completion",
    "EndStream",
    "Hook",
    "HookFailedError",
    "RequestContext",
    "RequestRejected",
    "points_of",
]

POINTS = ("before_request", "after_response", "on_stream_chunk", "on_complete", "on_error")


class RequestRejected(LiterLLMError):
    """Raise from `before_request`, `after_response` or `on_stream_chunk` to refuse.

    The client gets `status` and an error body of the inbound protocol (OpenAI's
    `{"error": {...}}` on the OpenAI routes).
    """

    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        code: str | None = "content_blocked",
        error_type: str = "invalid_request_error",
        param: str | None = None,
    ) -> None:
        super().__init__(message, param=param, code=code)
        self.status = status
        self.error_type = error_type


class HookFailedError(LiterLLMError):
    """A hook raised something other than `RequestRejected` (the reason is logged)."""

    status = 500
    error_type = "server_error"
    default_code = "hook_failed"


class EndStream(Exception):
    """Raise from `on_stream_chunk` to end the stream with `finish_reason` (after the
    chunks already released); the upstream stream is closed and settled as cut short."""

    def __init__(self, finish_reason: str = "content_filter") -> None:
        super().__init__(finish_reason)
        self.finish_reason = finish_reason


_NO_HEADERS: Mapping[str, str] = MappingProxyType({})


class RequestContext:
    """One request as hooks see it.

    `body` is the decoded request (OpenAI's shape); `before_request` may change it in
    place or replace it. `kind` is the endpoint ("chat", "embeddings", ...), `protocol`
    the inbound wire format ("openai"). `key` is the caller's description (or key id),
    never the secret. `state` is free for hooks, per request.
    """

    __slots__ = (
        "_caller",
        "body",
        "headers",
        "key",
        "key_id",
        "kind",
        "model",
        "protocol",
        "state",
        "stream",
    )

    def __init__(
        self,
        body: dict[str, Any],
        kind: str,
        model: str,
        key: str,
        key_id: str,
        headers: Mapping[str, str] | None = None,
        protocol: str = "openai",
        stream: bool = False,
    ) -> None:
        self.body = body
        self.kind = kind
        self.model = model
        self.key = key
        self.key_id = key_id
        self.headers: Mapping[str, str] = headers or _NO_HEADERS
        self.protocol = protocol
        self.stream = stream
        self.state: dict[Any, Any] = {}
        self._caller: object = None  # the gateway's own calls on the caller's behalf


class Completion(msgspec.Struct, kw_only=True):
    """What a request became, for `on_complete` (and the sinks): always filled in.

    `status` is the HTTP status; `error` the message of the error it ended with, if
    any. `response` is the answer's JSON (non-streaming requests that succeeded, for a
    hook whose `wants_response` is true). Built for every finished request a hook
    logs, so a struct (cheap to build), keyword arguments only.
    """

    kind: str
    model: str
    key: str
    key_id: str
    status: int
    latency: float
    started_at: float
    stream: bool = False
    usage: Usage | None = None
    cost: float | None = None
    deployment: str | None = None
    provider_model: str | None = None
    cache: str | None = None
    error: str | None = None
    response: dict[str, Any] | None = None


class Hook:
    """Base class: every point is a no-op here; override the ones you need.

    - `before_request(ctx)`: change `ctx.body`, or raise `RequestRejected`.
    - `after_response(ctx, body)`: change the answer's JSON in place, or raise.
    - `on_stream_chunk(ctx, chunk)`: return None to pass the chunk on unchanged, or a
      list of chunks to send instead (empty: hold it back); raise `EndStream` to end.
      `on_stream_end(ctx)` then returns what was held back when the upstream ends.
    - `on_complete(ctx, completion)`, `on_error(ctx, error)`: for logging; they run
      after the answer is sent and cannot change it.
    - `start()` / `aclose()`: called with the gateway's own.
    """

    name: str = ""
    kinds: frozenset[str] | None = None
    """When set, `after_response` runs only for these endpoints (`chat`, `embeddings`,
    `messages`, `responses`), so others skip decoding the answer."""

    async def before_request(self, ctx: RequestContext) -> None:
        return None

    async def after_response(self, ctx: RequestContext, body: dict[str, Any]) -> None:
        return None

    async def on_stream_chunk(
        self, ctx: RequestContext, chunk: dict[str, Any]
    ) -> list[dict[str, Any]] | None:
        return None

    async def on_stream_end(self, ctx: RequestContext) -> list[dict[str, Any]]:
        return []

    async def on_complete(self, ctx: RequestContext, completion: Completion) -> None:
        return None

    async def on_error(self, ctx: RequestContext, error: BaseException) -> None:
        return None

    async def start(self) -> None:
        return None

    async def aclose(self) -> None:
        return None


def points_of(hook: object) -> list[str]:
    """The points `hook` implements: overridden `Hook` methods, or coroutine methods of
    an object that does not subclass `Hook`."""
    found = []
    for point in POINTS:
        method = getattr(type(hook), point, None)
        if method is None or method is getattr(Hook, point):
            continue
        found.append(point)
    return found


_SUSPENDING = frozenset(
    {"YIELD_VALUE", "SEND", "GET_AWAITABLE", "GET_AITER", "GET_ANEXT", "BEFORE_ASYNC_WITH"}
)


def never_suspends(method: object) -> bool:
    """Whether `method` is an `async def` with no `await`, `async for` or `async with`:
    calling it runs it to the end at once (so it needs no task of its own)."""
    function = getattr(method, "__func__", method)
    code = getattr(function, "__code__", None)
    if code is None or not code.co_flags & inspect.CO_COROUTINE:
        return False
    return not any(i.opname in _SUSPENDING for i in dis.get_instructions(code))


def hook_name(hook: object) -> str:
    return str(getattr(hook, "name", "") or type(hook).__name__)
