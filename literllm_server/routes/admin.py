"""Operator endpoints, master key only: `GET /metrics`, the read-only `/admin/*` and the
runtime keys under `/admin/keys`."""

from __future__ import annotations

from urllib.parse import parse_qs

from literllm import BadRequestError

from ..http import Gateway, Receive, Request, Send, json_body, send_bytes, send_json

__all__ = [
    "audit",
    "config",
    "create_key",
    "delete_key",
    "key",
    "keys",
    "metrics",
    "models",
    "recent_requests",
    "rotate_key",
    "spend",
    "traffic",
    "update_key",
]

_ADMIN_BODY_LIMIT = 65_536
"""Admin request bodies are small JSON objects."""


def _query(request: Request) -> dict[str, str]:
    """The query string's parameters, the last value of each."""
    raw = request.scope.get("query_string", b"").decode("latin-1")
    return {k: v[-1] for k, v in parse_qs(raw, keep_blank_values=True).items()}


def _limit(query: dict[str, str]) -> int:
    limit = query.get("limit", "100")
    if not (limit.isascii() and limit.isdigit()) or len(limit) > 9:
        raise BadRequestError("limit must be a whole number from 1 to 1000", param="limit")
    return int(limit)


def _key_id(request: Request) -> str:
    return request.path.split("/admin/keys/", 1)[1].split("/", 1)[0]


async def _body(app: Gateway, request: Request, receive: Receive) -> bytes:
    return await json_body(request, receive, min(app.limit, _ADMIN_BODY_LIMIT))


async def metrics(app: Gateway, request: Request, receive: Receive, send: Send) -> None:
    body, content_type = await app.proxy.admin.metrics(api_key=request.api_key())
    request.outcome.key = "master"
    await send_bytes(send, 200, body, [], content_type.encode("latin-1"))


async def keys(app: Gateway, request: Request, receive: Receive, send: Send) -> None:
    report = await app.proxy.admin.keys(api_key=request.api_key())
    request.outcome.key = "master"
    await send_json(send, report)


async def spend(app: Gateway, request: Request, receive: Receive, send: Send) -> None:
    query = {
        k: v[-1]
        for k, v in parse_qs(request.scope.get("query_string", b"").decode("latin-1")).items()
    }
    report = await app.proxy.admin.spend(
        api_key=request.api_key(),
        group_by=query.get("group_by"),
        start=query.get("start"),
        end=query.get("end"),
        key=query.get("key"),
    )
    request.outcome.key = "master"
    wants_csv = query.get("format") == "csv" or "text/csv" in request.headers.get("accept", "")
    if wants_csv and hasattr(report, "csv"):
        await send_bytes(send, 200, report.csv().encode(), [], b"text/csv; charset=utf-8")
        return
    await send_json(send, report)


async def models(app: Gateway, request: Request, receive: Receive, send: Send) -> None:
    report = app.proxy.admin.models(api_key=request.api_key())
    request.outcome.key = "master"
    await send_json(send, report)


async def config(app: Gateway, request: Request, receive: Receive, send: Send) -> None:
    report = app.proxy.admin.config(api_key=request.api_key())
    request.outcome.key = "master"
    await send_json(send, report)


async def create_key(app: Gateway, request: Request, receive: Receive, send: Send) -> None:
    api_key = request.api_key()
    app.proxy.admin.require_master(api_key)  # before reading what a stranger sent
    created = await app.proxy.admin.create_key(await _body(app, request, receive), api_key=api_key)
    request.outcome.key = "master"
    await send_json(send, created, status=201)


async def key(app: Gateway, request: Request, receive: Receive, send: Send) -> None:
    report = await app.proxy.admin.key(_key_id(request), api_key=request.api_key())
    request.outcome.key = "master"
    await send_json(send, report)


async def update_key(app: Gateway, request: Request, receive: Receive, send: Send) -> None:
    api_key = request.api_key()
    app.proxy.admin.require_master(api_key)
    updated = await app.proxy.admin.update_key(
        _key_id(request), await _body(app, request, receive), api_key=api_key
    )
    request.outcome.key = "master"
    await send_json(send, updated)


async def rotate_key(app: Gateway, request: Request, receive: Receive, send: Send) -> None:
    api_key = request.api_key()
    app.proxy.admin.require_master(api_key)
    rotated = await app.proxy.admin.rotate_key(
        _key_id(request), await _body(app, request, receive), api_key=api_key
    )
    request.outcome.key = "master"
    await send_json(send, rotated)


async def delete_key(app: Gateway, request: Request, receive: Receive, send: Send) -> None:
    deleted = await app.proxy.admin.delete_key(_key_id(request), api_key=request.api_key())
    request.outcome.key = "master"
    await send_json(send, deleted)


async def audit(app: Gateway, request: Request, receive: Receive, send: Send) -> None:
    query = {
        k: v[-1]
        for k, v in parse_qs(request.scope.get("query_string", b"").decode("latin-1")).items()
    }
    limit = query.get("limit", "100")
    if not (limit.isascii() and limit.isdigit()) or len(limit) > 9:
        raise BadRequestError("limit must be a whole number from 1 to 1000", param="limit")
    report = await app.proxy.admin.audit(
        api_key=request.api_key(),
        limit=int(limit),
        action=query.get("action"),
        target=query.get("target"),
    )
    request.outcome.key = "master"
    await send_json(send, report)


async def traffic(app: Gateway, request: Request, receive: Receive, send: Send) -> None:
    query = _query(request)
    report = await app.proxy.admin.traffic(api_key=request.api_key(), window=query.get("window"))
    request.outcome.key = "master"
    await send_json(send, report)


async def recent_requests(app: Gateway, request: Request, receive: Receive, send: Send) -> None:
    api_key = request.api_key()
    app.proxy.admin.require_master(api_key)  # 401/403 before a word about the query
    query = _query(request)
    report = app.proxy.admin.requests(
        api_key=api_key,
        limit=_limit(query),
        status=query.get("status"),
        model=query.get("model"),
        key=query.get("key"),
    )
    request.outcome.key = "master"
    await send_json(send, report)
