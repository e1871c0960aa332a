"""Operator endpoints, master key only: `GET /metrics` and the read-only `/admin/*`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .http import Receive, Request, Send, send_bytes

if TYPE_CHECKING:
    from .app import App


def _require_master(app: App, request: Request) -> None:
    app.proxy.require_master(request.api_key())
    request.outcome.key = "master"


__all__ = ["config", "keys", "metrics", "models", "spend"]


async def metrics(app: App, request: Request, receive: Receive, send: Send) -> None:
    _require_master(app, request)
    body, content_type = await app.proxy.render_metrics()
    await send_bytes(send, 200, body, [], content_type.encode("latin-1"))


async def keys(app: App, request: Request, receive: Receive, send: Send) -> None:
    from .app import send_json

    _require_master(app, request)
    await send_json(send, await app.proxy.admin_keys())


async def spend(app: App, request: Request, receive: Receive, send: Send) -> None:
    from .app import send_json

    _require_master(app, request)
    await send_json(send, await app.proxy.admin_spend())


async def models(app: App, request: Request, receive: Receive, send: Send) -> None:
    from .app import send_json

    _require_master(app, request)
    await send_json(send, app.proxy.admin_models())


async def config(app: App, request: Request, receive: Receive, send: Send) -> None:
    from .app import send_json

    _require_master(app, request)
    await send_json(send, app.proxy.admin_config())
