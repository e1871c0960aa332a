"""HEAD at the ASGI level: whatever server runs the app, no body bytes leave it."""

from __future__ import annotations

from typing import Any

import pytest

from literllm import Proxy
from literllm_server import create_app
from tests.support.configs import MASTER, MOCK_POOL, config


async def call(method: str, path: str) -> list[dict[str, Any]]:
    app = create_app(Proxy.from_config(config(MOCK_POOL), environ={}))
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "query_string": b"",
        "headers": [(b"authorization", f"Bearer {MASTER}".encode())],
    }
    await app(scope, receive, send)  # type: ignore[arg-type]
    return sent


@pytest.mark.parametrize("path", ["/health/liveness", "/v1/models", "/openapi.json", "/nope"])
async def test_head_sends_gets_status_and_headers_and_no_body(path: str) -> None:
    get = await call("GET", path)
    head = await call("HEAD", path)
    assert head[0]["status"] == get[0]["status"]
    drop = {b"x-request-id"}
    assert [h for h in head[0]["headers"] if h[0] not in drop] == [
        h for h in get[0]["headers"] if h[0] not in drop
    ]
    assert b"".join(m.get("body", b"") for m in get[1:])
    assert b"".join(m.get("body", b"") for m in head[1:]) == b""
