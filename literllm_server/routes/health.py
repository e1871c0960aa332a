"""Probes and the API description: `/health`, `/health/liveness`, `/health/readiness`,
`/openapi.json`."""

from __future__ import annotations

from ..http import Gateway, Receive, Request, Send, send_bytes, send_json

__all__ = ["health", "liveness", "openapi", "readiness"]


async def health(app: Gateway, request: Request, receive: Receive, send: Send) -> None:
    await send_json(send, app.proxy.health())


async def liveness(app: Gateway, request: Request, receive: Receive, send: Send) -> None:
    await send_json(send, {"status": "alive"})


async def readiness(app: Gateway, request: Request, receive: Receive, send: Send) -> None:
    ready, reason = app.proxy.readiness()
    if app.draining:
        ready, reason = False, "shutting down"
    await send_json(
        send,
        {"status": "ready" if ready else "not_ready", "reason": reason},
        status=200 if ready else 503,
    )


async def openapi(app: Gateway, request: Request, receive: Receive, send: Send) -> None:
    await send_bytes(send, 200, app.openapi_json(), [])
