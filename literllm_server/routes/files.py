"""`/v1/files`: upload (streamed multipart), list, retrieve, content and delete."""

from __future__ import annotations

from urllib.parse import parse_qs

from literllm import BadRequestError
from literllm.config import FilesConfig

from ..http import Gateway, Receive, Request, Send, body_chunks, send_json
from ..uploads import parse_file_upload

__all__ = ["create_file", "delete_file", "file_content", "list_files", "retrieve_file"]

_FORM_SLACK = 1 << 20
_UNBOUNDED = 1 << 62


def _file_id(request: Request) -> str:
    return request.path.split("/files/", 1)[1].split("/", 1)[0]


async def create_file(app: Gateway, request: Request, receive: Receive, send: Send) -> None:
    api_key = request.api_key()
    app.proxy.files.owner(api_key)  # refuse unauthenticated uploads before reading them
    files = app.proxy.config.files or FilesConfig()
    # The store refuses the file's bytes past max_file_bytes; the form around it (a few
    # small fields) may add a little.
    limit = files.max_file_bytes + _FORM_SLACK if files.max_file_bytes else _UNBOUNDED
    upload = await parse_file_upload(
        request.headers.get("content-type", ""), body_chunks(receive, app.read_timeout), limit=limit
    )
    created = await app.proxy.files.create(
        api_key=api_key,
        filename=upload.filename,
        purpose=upload.known_purpose or upload.purpose,
        chunks=upload.chunks,
    )
    await send_json(send, created)


async def list_files(app: Gateway, request: Request, receive: Receive, send: Send) -> None:
    query = {
        k: v[-1]
        for k, v in parse_qs(request.scope.get("query_string", b"").decode("latin-1")).items()
    }
    limit = query.get("limit", "10000")
    # ASCII digits only ("²".isdigit() is true), and few enough for int() to accept.
    if not (limit.isascii() and limit.isdigit()) or len(limit) > 9:
        raise BadRequestError("limit must be a whole number between 1 and 10000", param="limit")
    order = query.get("order", "desc")
    result = await app.proxy.files.list(
        api_key=request.api_key(),
        purpose=query.get("purpose"),
        limit=int(limit),
        after=query.get("after"),
        order=order,
    )
    await send_json(send, result)


async def retrieve_file(app: Gateway, request: Request, receive: Receive, send: Send) -> None:
    await send_json(
        send, await app.proxy.files.retrieve(_file_id(request), api_key=request.api_key())
    )


async def delete_file(app: Gateway, request: Request, receive: Receive, send: Send) -> None:
    await send_json(
        send, await app.proxy.files.delete(_file_id(request), api_key=request.api_key())
    )


async def file_content(app: Gateway, request: Request, receive: Receive, send: Send) -> None:
    chunks = await app.proxy.files.content(_file_id(request), api_key=request.api_key())
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/octet-stream")],
        }
    )
    async for chunk in chunks:
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})
