"""`/v1/search` and `/v1/ocr`: the Rust liter-llm's extensions, JSON in and out."""

from __future__ import annotations

from ..http import Gateway, Receive, Request, Send, json_body, route_scrubbed, send_response

__all__ = ["ocr", "search"]


async def search(app: Gateway, request: Request, receive: Receive, send: Send) -> None:
    raw = await json_body(request, receive, app.limit)
    response = await app.proxy.search(
        raw, api_key=request.api_key(), headers=request.headers, outcome=request.outcome
    )
    await send_response(send, response.status, response.body, route_scrubbed(app, response.headers))


async def ocr(app: Gateway, request: Request, receive: Receive, send: Send) -> None:
    raw = await json_body(request, receive, app.limit)
    response = await app.proxy.ocr(
        raw, api_key=request.api_key(), headers=request.headers, outcome=request.outcome
    )
    await send_response(send, response.status, response.body, route_scrubbed(app, response.headers))
