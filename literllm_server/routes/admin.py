"""Operator endpoints, master key only: `GET /metrics` and the read-only `/admin/*`."""

from __future__ import annotations

from ..http import Gateway, Receive, Request, Send, send_bytes, send_json

__all__ = ["config", "keys", "metrics", "models", "spend"]


async def metrics(app: Gateway, request: Request, receive: Receive, send: Send) -> None:
    body, content_type = await app.proxy.admin.metrics(api_key=request.api_key())
    request.outcome.key = "master"
    await send_bytes(send, 200, body, [], content_type.encode("latin-1"))


async def keys(app: Gateway, request: Request, receive: Receive, send: Send) -> None:
    report = await app.proxy.admin.keys(api_key=request.api_key())
    request.outcome.key = "master"
    await send_json(send, report)


async def spend(app: Gateway, request: Request, receive: Receive, send: Send) -> None:
    report = await app.proxy.admin.spend(api_key=request.api_key())
    request.outcome.key = "master"
    await send_json(send, report)


async def models(app: Gateway, request: Request, receive: Receive, send: Send) -> None:
    report = app.proxy.admin.models(api_key=request.api_key())
    request.outcome.key = "master"
    await send_json(send, report)


async def config(app: Gateway, request: Request, receive: Receive, send: Send) -> None:
    report = app.proxy.admin.config(api_key=request.api_key())
    request.outcome.key = "master"
    await send_json(send, report)
