"""`/v1/messages` and `/v1/messages/count_tokens`: Anthropic Messages, in Anthropic's
shapes (errors included), for Anthropic SDK clients such as Claude Code."""

from __future__ import annotations

from literllm import LiterLLMError, Response, anthropic_error, anthropic_error_event

from ..http import Gateway, Receive, Request, Send, json_body, route_scrubbed, send_response
from .chat import DisconnectWatch, stream_sse

__all__ = ["count_tokens", "messages"]


def _join(batch: list[bytes]) -> bytes:
    return b"".join(batch)  # the events come framed


def _error_event(error: LiterLLMError, _events: int) -> bytes:
    return anthropic_error_event(error)


async def _send_anthropic_error(app: Gateway, send: Send, error: LiterLLMError) -> None:
    status, body = anthropic_error(error)
    # a message may quote what the client sent, and a client may send a key as `model`
    await send_response(send, status, app.scrub(body.decode()).encode(), dict(error.headers))


async def messages(app: Gateway, request: Request, receive: Receive, send: Send) -> None:
    try:
        raw = await json_body(request, receive, app.limit, app.read_timeout)
    except LiterLLMError as error:
        await _send_anthropic_error(app, send, error)
        return
    # the client's disconnect is watched for the whole request (see routes.chat)
    with DisconnectWatch(receive, app.ticker) as watch:
        try:
            answer = await app.proxy.messages(
                raw, api_key=request.api_key(), headers=request.headers, outcome=request.outcome
            )
        except LiterLLMError as error:
            await _send_anthropic_error(app, send, error)
            return
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


async def count_tokens(app: Gateway, request: Request, receive: Receive, send: Send) -> None:
    try:
        raw = await json_body(request, receive, app.limit, app.read_timeout)
        answer = await app.proxy.count_tokens(
            raw, api_key=request.api_key(), headers=request.headers
        )
    except LiterLLMError as error:
        await _send_anthropic_error(app, send, error)
        return
    await send_response(send, answer.status, answer.body, route_scrubbed(app, answer.headers))
