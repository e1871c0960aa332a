"""`/v1/completions`: legacy text completions (JSON, or SSE with `stream: true`)."""

from __future__ import annotations

from literllm import Response

from ..http import Gateway, Receive, Request, Send, json_body, route_scrubbed, send_response
from .chat import stream_sse

__all__ = ["completions"]


async def completions(app: Gateway, request: Request, receive: Receive, send: Send) -> None:
    raw = await json_body(request, receive, app.limit)
    answer = await app.proxy.completions(
        raw, api_key=request.api_key(), headers=request.headers, outcome=request.outcome
    )
    if isinstance(answer, Response):
        await send_response(send, answer.status, answer.body, route_scrubbed(app, answer.headers))
    else:
        await stream_sse(answer, receive, send)
