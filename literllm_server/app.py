"""The ASGI app: HTTP in, `Proxy` calls, HTTP out. No gateway logic lives here."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import logging
import os
import time
from collections.abc import Awaitable

import msgspec

from literllm import (
    LiterLLMError,
    MethodNotAllowedError,
    NotFoundError,
    Outcome,
    Proxy,
    Redactor,
)

from .accesslog import AccessLog, AccessRecord
from .cors import Cors
from .http import Message, Receive, Request, Scope, Send, send_error
from .openapi import openapi_document
from .routes import ROUTES, dynamic_route
from .routes.chat import WATCH_AFTER_SECS
from .static import StaticFiles
from .ticker import Ticker

__all__ = ["create_app"]

log = logging.getLogger("literllm.server")
_encode = msgspec.json.Encoder().encode
_NOT_TRAFFIC = ("/admin", "/health", "/metrics", "/openapi.json", "/ui")
"""The operator's own requests: not counted in the dashboard's traffic."""
_MAX_PATH = 256
_CLEAN_ROUTES = 1024
"""Route header values known to hold no secret that the app remembers at most."""


class App:
    def __init__(
        self, proxy: Proxy, access_log: AccessLog | None = None, *, freeze_gc: bool = False
    ) -> None:
        self.proxy = proxy
        self.freeze_gc = freeze_gc
        self.access_log = access_log if access_log is not None and access_log.enabled else None
        self.traffic = proxy.traffic
        self.limit = proxy.config.server.body_limit_bytes
        self.read_timeout = proxy.config.server.read_timeout_secs
        self.cors = Cors(proxy.config.server.cors_origins)
        self.scrub = Redactor(proxy.secrets()).scrub
        self._clean_routes: dict[str, None] = {}
        self._openapi: bytes | None = None
        self.ui = StaticFiles("literllm_server", "ui")
        self.draining = False
        self.ticker = Ticker(WATCH_AFTER_SECS / 2)
        # Request ids: a random per-process prefix and a counter (cheaper than uuid4).
        self._id_prefix = os.urandom(8).hex()
        self._ids = itertools.count(1)
        self.in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def scrub_route(self, value: str) -> str:
        """`scrub(value)` for a route header's value. Values repeat (deployment labels,
        model names), so those without a secret are remembered, up to a bound; one with
        a secret is scrubbed each time rather than kept."""
        clean = self._clean_routes
        if value in clean:
            return value
        scrubbed = self.scrub(value)
        if scrubbed == value:
            if len(clean) >= _CLEAN_ROUTES:
                clean.clear()  # passthrough model names are the client's choice
            clean[value] = None
        return scrubbed

    def _next_request_id(self) -> str:
        return f"{self._id_prefix}{next(self._ids):016x}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.proxy.start()
                    self.proxy.batches.runner.watch()  # batches of other processes too
                except Exception as exc:  # startup failures are reported, not raised
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                if self.freeze_gc:
                    # Everything built so far lives as long as the process: keep it out
                    # of the collector's full passes (22 ms each, every second or so
                    # under load, before this).
                    gc.collect()
                    gc.freeze()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                # uvicorn has waited the grace period and cancelled what still ran: give the
                # cancelled requests a moment to end their answers and settle.
                await self.drain(self.proxy.config.server.shutdown_grace_secs + 5.0)
                await self.proxy.aclose()
                if self.access_log is not None:
                    self.access_log.flush()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def drain(self, timeout: float = 30.0) -> None:
        """Wait for in-flight requests (streams included) to finish, up to `timeout`."""
        self.draining = True
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._idle.wait()

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, self._next_request_id)
        self.in_flight += 1
        self._idle.clear()
        send = self._decorate(request, send)
        if request.method == "HEAD":
            send = _Headless(send)
        try:
            if request.method == "OPTIONS" and "access-control-request-method" in request.headers:
                await self.cors.preflight(request, send)
                return
            route = ROUTES.get(request.path)
            if route is None:
                route = dynamic_route(request.path)
            if route is None:
                raise NotFoundError(
                    f"no route for {request.path}; see GET /openapi.json", code="unknown_url"
                )
            handler = route.get(request.method)
            if handler is None and request.method == "HEAD":
                handler = route.get("GET")
            if handler is None:
                allowed = ", ".join(sorted({*route, "HEAD"} if "GET" in route else route))
                raise MethodNotAllowedError(
                    f"{request.method} is not allowed on {request.path}; use {allowed}",
                    headers={"allow": allowed},
                )
            await handler(self, request, receive, send)
        except LiterLLMError as error:
            if request.outcome.error_type is None:
                request.outcome.error_type = error.error_type
            await send_error(send, error, self.scrub)
        except ConnectionResetError:
            return
        except Exception:
            request.outcome.error_type = "server_error"
            log.exception(
                "unexpected error on %s %s (request %s)",
                request.method,
                request.path,
                request.request_id,
            )
            await send_error(
                send,
                LiterLLMError(
                    f"internal error; quote request id {request.request_id} to the operator"
                ),
            )
        finally:
            self.in_flight -= 1
            if not self.in_flight:
                self._idle.set()
            seconds = time.monotonic() - request.started
            if self.access_log is not None:
                self._log(self.access_log, request, seconds)
            if not request.path.startswith(_NOT_TRAFFIC) and request.method != "OPTIONS":
                self.traffic.record(
                    request.outcome,
                    request_id=request.request_id,
                    endpoint=request.path[:_MAX_PATH],
                    arrived=request.arrived,
                    seconds=seconds,
                )

    def _log(self, access_log: AccessLog, request: Request, seconds: float) -> None:
        outcome = request.outcome
        usage = outcome.usage
        cache = outcome.cache
        access_log.log(
            AccessRecord(
                timestamp=request.arrived,
                request_id=request.request_id,
                method=request.method,
                path=request.path,
                status=outcome.status,
                latency_ms=seconds * 1000.0,
                key=outcome.key,
                model=outcome.model,
                deployment=outcome.deployment,
                tokens_in=usage.prompt_tokens if usage else None,
                tokens_out=usage.completion_tokens if usage else None,
                cost=outcome.cost,
                cache=cache if cache in ("hit", "miss", "bypass") else None,  # type: ignore[arg-type]
                route=outcome.route,
            )
        )

    def _decorate(self, request: Request, send: Send) -> Send:
        extra = [(b"x-request-id", request.request_id.encode("latin-1"))]
        extra.extend(self.cors.headers(request))
        return _Decorated(send, extra, request.outcome)

    def openapi_json(self) -> bytes:
        if self._openapi is None:
            self._openapi = _encode(openapi_document())
        return self._openapi


class _Decorated:
    """`send` that adds the request id (and CORS) headers to the response and notes its
    status. Returns the inner awaitable rather than awaiting it: one coroutine fewer
    per message."""

    __slots__ = ("extra", "outcome", "send")

    def __init__(self, send: Send, extra: list[tuple[bytes, bytes]], outcome: Outcome) -> None:
        self.send = send
        self.extra = extra
        self.outcome = outcome

    def __call__(self, message: Message) -> Awaitable[None]:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", ()), *self.extra]
            self.outcome.status = message["status"]
        return self.send(message)


class _Headless:
    """`send` for a HEAD request: the GET answer's status and headers, no body."""

    __slots__ = ("send",)

    def __init__(self, send: Send) -> None:
        self.send = send

    def __call__(self, message: Message) -> Awaitable[None]:
        if message["type"] == "http.response.body" and message.get("body"):
            message = {**message, "body": b""}
        return self.send(message)


def create_app(
    proxy: Proxy, access_log: AccessLog | None = None, *, freeze_gc: bool = False
) -> App:
    """The ASGI application serving `proxy`; `access_log` writes one line per request.
    `freeze_gc` moves every object alive at start-up out of the garbage collector's
    reach (`gc.freeze()`), as `liter-llm api` does: the process is ours alone."""
    return App(proxy, access_log, freeze_gc=freeze_gc)
