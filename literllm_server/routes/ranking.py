"""`/v1/moderations` and `/v1/rerank`: JSON in, JSON out, cacheable."""

from __future__ import annotations

from ..http import Gateway, Receive, Request, Send, json_body, route_scrubbed, send_response

__all__ = ["moderations", "rerank"]


async def moderations(app: Gateway, request: Request, receive: Receive, send: Send) -> None:
    raw = await json_body(request, receive, app.limit)
    response = await app.proxy.moderations(
        raw, api_key=request.api_key(), headers=request.headers, outcome=request.outcome
    )
    await send_response(send, response.status, response.body, route_scrubbed(app, response.headers))


async def rerank(app: Gateway, request: Request, receive: Receive, send: Send) -> None:
    raw = await json_body(request, receive, app.limit)
    response = await app.proxy.rerank(
        raw, api_key=request.api_key(), headers=request.headers, outcome=request.outcome
    )
    await send_response(send, response.status, response.body, route_scrubbed(app, response.headers))
