"""The ASGI lifespan: start-up starts the proxy and, for `liter-llm api`, freezes the GC."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import pytest

from literllm import Proxy
from literllm.config import load_config
from literllm_server import create_app
from tests.support.paths import REPO

QUICKSTART = REPO / "examples" / "quickstart.toml"


async def start_and_stop(freeze_gc: bool) -> list[str]:
    app = create_app(Proxy.from_config(load_config(QUICKSTART)), freeze_gc=freeze_gc)
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    sent: list[str] = []
    for kind in ("lifespan.startup", "lifespan.shutdown"):
        inbox.put_nowait({"type": kind})

    async def send(message: dict[str, Any]) -> None:
        sent.append(message["type"])

    await app({"type": "lifespan"}, inbox.get, send)  # type: ignore[arg-type]
    return sent


@pytest.mark.parametrize("freeze_gc", [False, True])
async def test_startup_freezes_the_collector_only_when_asked(freeze_gc: bool) -> None:
    gc.unfreeze()
    try:
        sent = await start_and_stop(freeze_gc)
        frozen = gc.get_freeze_count()
    finally:
        gc.unfreeze()
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert (frozen > 0) is freeze_gc


def test_the_served_app_freezes_the_collector() -> None:
    from literllm_server.serve import build_app

    assert build_app(load_config(QUICKSTART), "plain").freeze_gc
