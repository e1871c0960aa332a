"""`/v1/batches`: create, list, retrieve and cancel batches the gateway runs itself."""

from __future__ import annotations

from urllib.parse import parse_qs

from literllm import BadRequestError

from ..http import Gateway, Receive, Request, Send, json_body, send_json

__all__ = ["cancel_batch", "create_batch", "list_batches", "retrieve_batch"]


def _batch_id(request: Request) -> str:
    return request.path.split("/batches/", 1)[1].split("/", 1)[0]


async def create_batch(app: Gateway, request: Request, receive: Receive, send: Send) -> None:
    raw = await json_body(request, receive, app.limit)
    await send_json(send, await app.proxy.batches.create(raw, api_key=request.api_key()))


async def list_batches(app: Gateway, request: Request, receive: Receive, send: Send) -> None:
    query = {
        k: v[-1]
        for k, v in parse_qs(request.scope.get("query_string", b"").decode("latin-1")).items()
    }
    limit = query.get("limit", "20")
    # ASCII digits only ("²".isdigit() is true), and few enough for int() to accept.
    if not (limit.isascii() and limit.isdigit()) or len(limit) > 9:
        raise BadRequestError("limit must be a positive whole number", param="limit")
    result = await app.proxy.batches.list(
        api_key=request.api_key(), after=query.get("after"), limit=int(limit)
    )
    await send_json(send, result)


async def retrieve_batch(app: Gateway, request: Request, receive: Receive, send: Send) -> None:
    await send_json(
        send, await app.proxy.batches.retrieve(_batch_id(request), api_key=request.api_key())
    )


async def cancel_batch(app: Gateway, request: Request, receive: Receive, send: Send) -> None:
    await send_json(
        send, await app.proxy.batches.cancel(_batch_id(request), api_key=request.api_key())
    )
