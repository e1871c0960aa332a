"""`GET /v1/models` and `GET /v1/models/{id}`."""

from __future__ import annotations

from ..http import Gateway, Receive, Request, Send, send_json

__all__ = ["get_model", "list_models"]


async def list_models(app: Gateway, request: Request, receive: Receive, send: Send) -> None:
    await send_json(send, app.proxy.list_models(api_key=request.api_key()))


async def get_model(app: Gateway, request: Request, receive: Receive, send: Send) -> None:
    name = request.path.split("/models/", 1)[1]
    await send_json(send, app.proxy.get_model(name, api_key=request.api_key()))
