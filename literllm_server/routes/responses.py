"""`/v1/responses`: OpenAI's Responses API (create, JSON or SSE; retrieve; delete;
cancel; input items)."""

from __future__ import annotations

from urllib.parse import parse_qs

from literllm import BadRequestError, LiterLLMError, Response, responses_error_event

from ..http import (
    Gateway,
    Receive,
    Request,
    Send,
    json_body,
    route_scrubbed,
    send_json,
    send_response,
)
from .chat import DisconnectWatch, stream_sse

__all__ = ["cancel", "create", "delete", "input_items", "retrieve"]


def _response_id(request: Request) -> str:
    return request.path.split("/responses/", 1)[1].split("/", 1)[0]


def _join(batch: list[bytes]) -> bytes:
    return b"".join(batch)  # the events come framed


def _error_event(error: LiterLLMError, events: int) -> bytes:
    return responses_error_event(error, events)


async def create(app: Gateway, request: Request, receive: Receive, send: Send) -> None:
    raw = await json_body(request, receive, app.limit, app.read_timeout)
    # the client's disconnect is watched for the whole request (see routes.chat)
    with DisconnectWatch(receive, app.ticker) as watch:
        answer = await app.proxy.responses.create(
            raw, api_key=request.api_key(), headers=request.headers, outcome=request.outcome
        )
        if isinstance(answer, Response):
            await send_response(
                send, answer.status, answer.body, route_scrubbed(app, answer.headers)
            )
            return
        await stream_sse(
            answer,
            receive,
            send,
            frame=_join,
            error_event=_error_event,
            done=b"",
            watch=watch,
            scrub=app.scrub,
            scrub_route=app.scrub_route,
            request_id=request.request_id,
        )


async def retrieve(app: Gateway, request: Request, receive: Receive, send: Send) -> None:
    found = await app.proxy.responses.retrieve(_response_id(request), api_key=request.api_key())
    await send_json(send, found.to_dict())  # as the client got it, every field


async def delete(app: Gateway, request: Request, receive: Receive, send: Send) -> None:
    gone = await app.proxy.responses.delete(_response_id(request), api_key=request.api_key())
    await send_json(send, gone)


async def cancel(app: Gateway, request: Request, receive: Receive, send: Send) -> None:
    await app.proxy.responses.cancel(_response_id(request), api_key=request.api_key())


async def input_items(app: Gateway, request: Request, receive: Receive, send: Send) -> None:
    query = {
        k: v[-1]
        for k, v in parse_qs(request.scope.get("query_string", b"").decode("latin-1")).items()
    }
    limit = query.get("limit", "20")
    # ASCII digits only ("²".isdigit() is true), and few enough for int() to accept.
    if not (limit.isascii() and limit.isdigit()) or len(limit) > 9:
        raise BadRequestError("limit must be a whole number from 1 to 100", param="limit")
    listing = await app.proxy.responses.input_items(
        _response_id(request),
        api_key=request.api_key(),
        limit=int(limit),
        order=query.get("order", "desc"),
        after=query.get("after"),
    )
    await send_json(send, listing)
