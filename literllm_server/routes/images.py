"""`/v1/images/generations` (JSON), `/v1/images/edits` and `/v1/images/variations`
(multipart forms, read whole up to `body_limit_bytes`)."""

from __future__ import annotations

from ..forms import read_form
from ..http import Gateway, Receive, Request, Send, json_body, route_scrubbed, send_response

__all__ = ["edits", "generations", "variations"]


async def generations(app: Gateway, request: Request, receive: Receive, send: Send) -> None:
    raw = await json_body(request, receive, app.limit)
    response = await app.proxy.images_generate(
        raw, api_key=request.api_key(), headers=request.headers, outcome=request.outcome
    )
    await send_response(send, response.status, response.body, route_scrubbed(app, response.headers))


async def edits(app: Gateway, request: Request, receive: Receive, send: Send) -> None:
    app.proxy.check_api_key(request.api_key())  # before reading a stranger's upload
    form = await read_form(request, receive, app.limit)
    response = await app.proxy.images_edit(
        form, api_key=request.api_key(), headers=request.headers, outcome=request.outcome
    )
    await send_response(send, response.status, response.body, route_scrubbed(app, response.headers))


async def variations(app: Gateway, request: Request, receive: Receive, send: Send) -> None:
    app.proxy.check_api_key(request.api_key())
    form = await read_form(request, receive, app.limit)
    response = await app.proxy.images_variation(
        form, api_key=request.api_key(), headers=request.headers, outcome=request.outcome
    )
    await send_response(send, response.status, response.body, route_scrubbed(app, response.headers))
