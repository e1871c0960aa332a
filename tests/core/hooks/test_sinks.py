"""The built-in sinks: JSON lines on OpenDAL storage (fs, S3 on moto) and a webhook."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import opendal

from literllm import Proxy
from literllm.hooks.sinks import WebhookSink
from literllm.testing import FakeClock, FakeUpstream
from tests.core.hooks.test_hooks_inprocess import MODELS
from tests.core.storage.conftest import s3_endpoint, s3_options  # noqa: F401 (fixtures)
from tests.support.configs import MASTER, TEAM, config
from tests.support.rawhttp import Peer, ServerFactory, http_response, serve  # noqa: F401

EMAIL = "jane.doe@example.com"


def sink_table(backend: str, options: dict[str, Any], extra: str = "") -> str:
    inline = ", ".join(f"{k} = {json.dumps(v)}" for k, v in options.items())
    return (
        '\n[[hooks]]\npath = "literllm.hooks.sinks:request_log"\n'
        f'[hooks.settings]\nbackend = "{backend}"\nbatch_size = 2\n'
        f"backend_config = {{ {inline} }}\n{extra}"
    )


async def run_requests(toml: str) -> None:
    proxy = Proxy.from_config(config(MODELS + toml), transport=FakeUpstream(), clock=FakeClock())
    async with proxy as p:
        for key in (MASTER, TEAM, MASTER):
            await p.chat(
                {"model": "chat", "messages": [{"role": "user", "content": f"hi {EMAIL}"}]},
                api_key=key,
            )


async def read_lines(operator: opendal.AsyncOperator, prefix: str) -> list[dict[str, Any]]:
    lines = []
    async for entry in await operator.list(prefix, recursive=True):
        if entry.path.endswith(".jsonl"):
            data = bytes(await operator.read(entry.path))
            lines += [json.loads(line) for line in data.splitlines()]
    return lines


def fs_records(root: Path) -> tuple[list[Path], list[dict[str, Any]]]:
    files = sorted(root.rglob("*.jsonl"))
    return files, [json.loads(x) for f in files for x in f.read_text().splitlines()]


async def test_jsonl_sink_on_the_filesystem(tmp_path: Path) -> None:
    await run_requests(sink_table("fs", {"root": str(tmp_path)}))
    files, records = fs_records(tmp_path)
    assert len(files) == 2  # a batch of two, then the rest when the gateway closed
    assert [r["key"] for r in records] == ["master", "team", "master"]
    first = records[0]
    assert first["status"] == 200 and first["model"] == "chat" and first["kind"] == "chat"
    assert first["usage"]["total_tokens"] > 0 and first["deployment"]
    assert "request" not in first and "response" not in first  # metadata only by default
    assert all(str(f.relative_to(tmp_path)).startswith("request-logs/") for f in files)


async def test_jsonl_sink_bodies_are_redacted(tmp_path: Path) -> None:
    await run_requests(sink_table("fs", {"root": str(tmp_path)}, "bodies = true\n"))
    _, records = fs_records(tmp_path)
    first = records[0]
    assert first["request"]["messages"][0]["content"] == "hi [EMAIL]"
    assert first["response"]["choices"][0]["message"]["content"] == "echo: hi [EMAIL]"
    assert EMAIL not in json.dumps(records)


async def test_jsonl_sink_on_s3(s3_options: dict[str, Any]) -> None:  # noqa: F811
    await run_requests(sink_table("s3", s3_options, 'prefix = "logs/"\n'))
    operator = opendal.AsyncOperator(
        "s3",
        **{k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in s3_options.items()},
    )
    records = await read_lines(operator, "logs/")
    assert sorted(r["key"] for r in records) == ["master", "master", "team"]
    assert all(r["status"] == 200 for r in records)


async def test_webhook_batches_and_retries(serve: ServerFactory) -> None:  # noqa: F811
    received: list[list[dict[str, Any]]] = []
    answers = [503, 200, 200]

    async def receiver(peer: Peer) -> None:
        while (request := await peer.read_request()) is not None:
            status = answers.pop(0)
            if status == 200:
                received.append(json.loads(request.body))
            await peer.send(
                http_response(b"{}", status=status, headers=[("content-type", "application/json")])
            )

    server = await serve(receiver)
    clock = FakeClock()
    sink = WebhookSink(
        url=server.url("/ingest"), batch_size=2, clock=clock, headers={"x-token": "t"}
    )
    proxy = Proxy.from_config(config(MODELS), transport=FakeUpstream(), clock=clock, hooks=[sink])
    async with proxy as p:
        for _ in range(3):
            await p.chat(
                {"model": "chat", "messages": [{"role": "user", "content": "hi"}]}, api_key=MASTER
            )
    assert [len(batch) for batch in received] == [2, 1]
    assert received[0][0]["status"] == 200 and received[0][0]["model"] == "chat"
    assert len(server.requests) == 3  # one retry after the 503
    assert server.requests[0].headers["x-token"] == "t"
    assert sink.batcher.failed_batches == 0


async def test_webhook_that_is_down_never_blocks_requests(serve: ServerFactory) -> None:  # noqa: F811
    async def down(peer: Peer) -> None:
        while await peer.read_request() is not None:
            await peer.send(http_response(b"no", status=500))

    server = await serve(down)
    clock = FakeClock()
    sink = WebhookSink(url=server.url("/"), batch_size=1, max_retries=2, clock=clock)
    proxy = Proxy.from_config(config(MODELS), transport=FakeUpstream(), clock=clock, hooks=[sink])
    async with proxy as p:
        response = await p.chat(
            {"model": "chat", "messages": [{"role": "user", "content": "hi"}]}, api_key=MASTER
        )
        assert response.status == 200
    assert len(server.requests) == 3  # the first try and two retries
    assert sink.batcher.failed_batches == 1


async def test_batcher_bounds_what_is_pending() -> None:
    from literllm.hooks.batcher import Batcher

    written: list[list[int]] = []

    async def write(batch: list[Any]) -> None:
        written.append(batch)

    batcher = Batcher(write, name="t", batch_size=2, flush_interval=60, max_pending=3)
    for n in range(5):
        batcher.add(n)
    assert batcher.dropped == 2
    await batcher.aclose()
    assert written == [[2, 3], [4]]
    await asyncio.sleep(0)
