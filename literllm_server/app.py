"""The ASGI app: HTTP in, `Proxy` calls, HTTP out. No gateway logic lives here."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import logging
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from literllm import Proxy
from literllm.errors import (
    LiterLLMError,
    MethodNotAllowedError,
    NotFoundError,
    UnsupportedMediaTypeError,
)
from literllm.outcome import Outcome
from literllm.results import ChatStream, Response

from . import admin_routes, file_routes
from .accesslog import AccessLog, AccessRecord
from .cors import Cors
from .http import Message, Receive, Request, Scope, Send, error_response, read_body, send_bytes
from .openapi import openapi_document

__all__ = ["create_app"]

log = logging.getLogger("literllm.server")
_encode = msgspec.json.Encoder().encode
_SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]
_DONE = b"data: [DONE]\n\n"

Handler = Callable[["App", Request, Receive, Send], Awaitable[None]]


class App:
    def __init__(
        self, proxy: Proxy, access_log: AccessLog | None = None, *, freeze_gc: bool = False
    ) -> None:
        self.proxy = proxy
        self.freeze_gc = freeze_gc
        self.access_log = access_log if access_log is not None and access_log.enabled else None
        self.limit = proxy.config.server.body_limit_bytes
        self.cors = Cors(proxy.config.server.cors_origins)
        self._openapi: bytes | None = None
        self.draining = False
        # Request ids: a random per-process prefix and a counter (cheaper than uuid4).
        self._id_prefix = os.urandom(8).hex()
        self._ids = itertools.count(1)
        self.in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

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
                await self.drain()
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
        try:
            if request.method == "OPTIONS" and "access-control-request-method" in request.headers:
                await self.cors.preflight(request, send)
                return
            route = ROUTES.get(request.path)
            if route is None:
                route = _dynamic_route(request.path)
            if route is None:
                raise NotFoundError(
                    f"no route for {request.path}; see GET /openapi.json", code="unknown_url"
                )
            handler = route.get(request.method)
            if handler is None:
                allowed = ", ".join(sorted(route))
                raise MethodNotAllowedError(
                    f"{request.method} is not allowed on {request.path}; use {allowed}",
                    headers={"allow": allowed},
                )
            await handler(self, request, receive, send)
        except LiterLLMError as error:
            await _send_error(send, error)
        except ConnectionResetError:
            return
        except Exception:
            log.exception(
                "unexpected error on %s %s (request %s)",
                request.method,
                request.path,
                request.request_id,
            )
            await _send_error(
                send,
                LiterLLMError(
                    f"internal error; quote request id {request.request_id} to the operator"
                ),
            )
        finally:
            self.in_flight -= 1
            if not self.in_flight:
                self._idle.set()
            if self.access_log is not None:
                self._log(self.access_log, request)

    def _log(self, access_log: AccessLog, request: Request) -> None:
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
                latency_ms=(time.monotonic() - request.started) * 1000.0,
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

    async def json_body(self, request: Request, receive: Receive) -> bytes:
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
        return await read_body(receive, request, self.limit)


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


async def _send_error(send: Send, error: LiterLLMError) -> None:
    status, body, headers = error_response(error)
    with contextlib.suppress(RuntimeError, OSError):  # the response had already started
        await send_bytes(send, status, body, headers)


async def send_response(send: Send, response: Response) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers.items()]
    await send_bytes(send, response.status, response.body, headers)


async def send_json(
    send: Send, value: Any, status: int = 200, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    await send_bytes(send, status, _encode(value), headers or [])


# -- handlers -----------------------------------------------------------------------


async def chat_completions(app: App, request: Request, receive: Receive, send: Send) -> None:
    raw = await app.json_body(request, receive)
    answer = await app.proxy.chat_completions(
        raw, api_key=request.api_key(), headers=request.headers, outcome=request.outcome
    )
    if isinstance(answer, Response):
        await send_response(send, answer)
    else:
        await stream_sse(answer, receive, send)


async def embeddings(app: App, request: Request, receive: Receive, send: Send) -> None:
    raw = await app.json_body(request, receive)
    response = await app.proxy.embeddings(
        raw, api_key=request.api_key(), headers=request.headers, outcome=request.outcome
    )
    await send_response(send, response)


async def stream_sse(stream: ChatStream, receive: Receive, send: Send) -> None:
    headers = [
        *_SSE_HEADERS,
        *((k.encode("latin-1"), v.encode("latin-1")) for k, v in stream.headers.items()),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})

    async def pump() -> None:
        try:
            async for batch in stream.batches():
                body = b"data: " + b"\n\ndata: ".join(batch) + b"\n\n"
                await send({"type": "http.response.body", "body": body, "more_body": True})
        except LiterLLMError as error:
            await send(
                {
                    "type": "http.response.body",
                    "more_body": True,
                    "body": b"data: " + error.to_json() + b"\n\n",
                }
            )
        await send({"type": "http.response.body", "body": _DONE, "more_body": False})

    # The stream is relayed in this task; one watcher task cancels it if the client
    # goes away, which closes the upstream stream at once.
    relaying = asyncio.current_task()
    gone = False

    async def watch_disconnect() -> None:
        nonlocal gone
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                gone = True
                if relaying is not None:
                    relaying.cancel()
                return

    watching = asyncio.create_task(watch_disconnect())
    try:
        await pump()
    except asyncio.CancelledError:
        if not gone or relaying is None:
            raise
        relaying.uncancel()
    except OSError:
        pass
    finally:
        watching.cancel()
        await stream.aclose()


async def list_models(app: App, request: Request, receive: Receive, send: Send) -> None:
    await send_json(send, app.proxy.list_models(api_key=request.api_key()))


async def get_model(app: App, request: Request, receive: Receive, send: Send) -> None:
    name = request.path.split("/models/", 1)[1]
    await send_json(send, app.proxy.get_model(name, api_key=request.api_key()))


async def health(app: App, request: Request, receive: Receive, send: Send) -> None:
    await send_json(send, app.proxy.health())


async def liveness(app: App, request: Request, receive: Receive, send: Send) -> None:
    await send_json(send, {"status": "alive"})


async def readiness(app: App, request: Request, receive: Receive, send: Send) -> None:
    ready, reason = app.proxy.readiness()
    if app.draining:
        ready, reason = False, "shutting down"
    await send_json(
        send,
        {"status": "ready" if ready else "not_ready", "reason": reason},
        status=200 if ready else 503,
    )


async def openapi(app: App, request: Request, receive: Receive, send: Send) -> None:
    if app._openapi is None:
        app._openapi = _encode(openapi_document())
    await send_bytes(send, 200, app._openapi, [])


ROUTES: dict[str, dict[str, Handler]] = {
    "/v1/chat/completions": {"POST": chat_completions},
    "/chat/completions": {"POST": chat_completions},
    "/v1/embeddings": {"POST": embeddings},
    "/embeddings": {"POST": embeddings},
    "/v1/models": {"GET": list_models},
    "/models": {"GET": list_models},
    "/health": {"GET": health},
    "/health/liveness": {"GET": liveness},
    "/health/readiness": {"GET": readiness},
    "/openapi.json": {"GET": openapi},
    "/metrics": {"GET": admin_routes.metrics},
    "/admin/keys": {"GET": admin_routes.keys},
    "/admin/spend": {"GET": admin_routes.spend},
    "/admin/models": {"GET": admin_routes.models},
    "/admin/config": {"GET": admin_routes.config},
    "/v1/files": {"GET": file_routes.list_files, "POST": file_routes.create_file},
    "/files": {"GET": file_routes.list_files, "POST": file_routes.create_file},
}


def _dynamic_route(path: str) -> dict[str, Handler] | None:
    if path.startswith(("/v1/models/", "/models/")) and not path.endswith("/"):
        return {"GET": get_model}
    if path.startswith(("/v1/files/", "/files/")):
        rest = path.split("/files/", 1)[1]
        if rest and "/" not in rest:
            return {"GET": file_routes.retrieve_file, "DELETE": file_routes.delete_file}
        if rest.endswith("/content") and rest.count("/") == 1:
            return {"GET": file_routes.file_content}
    return None


def create_app(
    proxy: Proxy, access_log: AccessLog | None = None, *, freeze_gc: bool = False
) -> App:
    """The ASGI application serving `proxy`; `access_log` writes one line per request.
    `freeze_gc` moves every object alive at start-up out of the garbage collector's
    reach (`gc.freeze()`), as `liter-llm api` does: the process is ours alone."""
    return App(proxy, access_log, freeze_gc=freeze_gc)
