"""Operator endpoints, master key only: `GET /metrics` and the read-only `/admin/*`."""

from __future__ import annotations

from ..http import Gateway, Receive, Request, Send, send_bytes, send_json


def _require_master(app: Gateway, request: Request) -> None:
    app.proxy.require_master(request.api_key())
    request.outcome.key = "master"


__all__ = ["config", "keys", "metrics", "models", "spend"]


async def metrics(app: Gateway, request: Request, receive: Receive, send: Send) -> None:
    _require_master(app, request)
    body, content_type = await app.proxy.render_metrics()
    await send_bytes(send, 200, body, [], content_type.encode("latin-1"))


async def keys(app: Gateway, request: Request, receive: Receive, send: Send) -> None:
    _require_master(app, request)
    await send_json(send, await app.proxy.admin_keys())


async def spend(app: Gateway, request: Request, receive: Receive, send: Send) -> None:
    _require_master(app, request)
    await send_json(send, await app.proxy.admin_spend())


async def models(app: Gateway, request: Request, receive: Receive, send: Send) -> None:
    _require_master(app, request)
    await send_json(send, app.proxy.admin_models())


async def config(app: Gateway, request: Request, receive: Receive, send: Send) -> None:
    _require_master(app, request)
    await send_json(send, app.proxy.admin_config())
