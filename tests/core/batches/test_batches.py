"""Batches through `Proxy`: validation, running every line as the batch's key,
output and error files, cancellation, ownership, and recovery after a crash."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest

from literllm import BadRequestError, NotFoundError, Proxy
from literllm.batches import BatchRunner
from literllm.batches.book import BatchBook
from literllm.config import BatchesConfig
from literllm.state.memory import MemoryStateStore
from literllm.testing import FakeClock, FakeUpstream, Reply
from tests.support.configs import MASTER, TEAM, config
from tests.support.services import redis_url_fixture  # noqa: F401 (the redis_url fixture)

TOML = """
[general]
master_key = "sk-master-test-0001"
max_retries = 0

[[models]]
name = "chat"
provider_model = "mock/echo"

[[models]]
name = "paid"
provider_model = "openai/gpt-4o-mini"
api_key = "sk-up"
base_url = "https://paid.test/v1"

[[keys]]
key = "vk-team-test-0002"
description = "team"
models = ["chat", "paid"]

[[keys]]
key = "vk-other-test-0003"
description = "other"

[batches]
concurrency = 3
poll_interval_secs = 0.05
"""


def jsonl(lines: list[dict]) -> AsyncIterator[bytes]:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"\n".join(msgspec.json.encode(line) for line in lines) + b"\n"

    return chunks()


def chat_line(i: int, model: str = "chat") -> dict:
    return {
        "custom_id": f"req-{i}",
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {"model": model, "messages": [{"role": "user", "content": f"line {i}"}]},
    }


def make(upstream: FakeUpstream | None = None, extra: str = "") -> Proxy:
    return Proxy.from_config(config(TOML + extra), transport=upstream or FakeUpstream(), environ={})


async def upload(proxy: Proxy, lines: list[dict], key: str = TEAM) -> str:
    created = await proxy.files.create(
        api_key=key, filename="in.jsonl", purpose="batch", chunks=jsonl(lines)
    )
    return created.id


async def wait_finished(proxy: Proxy, batch_id: str, key: str = TEAM) -> object:
    for _ in range(400):
        batch = await proxy.batches.retrieve(batch_id, api_key=key)
        if batch.status in ("completed", "failed", "cancelled", "expired"):
            return batch
        await asyncio.sleep(0.02)
    raise AssertionError(f"batch still {batch.status}")


async def read(proxy: Proxy, file_id: str, key: str = TEAM) -> list[dict]:
    chunks = await proxy.files.content(file_id, api_key=key)
    data = b"".join([c async for c in chunks])
    return [msgspec.json.decode(line) for line in data.splitlines()]


async def test_a_batch_runs_every_line_once_and_writes_output_and_errors() -> None:
    upstream = FakeUpstream()
    upstream.script(Reply(500, json={"error": {"message": "boom"}}), url="paid.test")
    lines = [chat_line(i) for i in range(10)] + [chat_line(10, "paid")]
    async with make(upstream) as proxy:
        file_id = await upload(proxy, lines)
        created = await proxy.batches.create(
            {
                "input_file_id": file_id,
                "endpoint": "/v1/chat/completions",
                "completion_window": "24h",
            },
            api_key=TEAM,
        )
        assert created.status == "in_progress" and created.request_counts.total == 11
        batch = await wait_finished(proxy, created.id)
        assert batch.status == "completed"  # type: ignore[attr-defined]
        assert batch.request_counts.completed == 10 and batch.request_counts.failed == 1  # type: ignore[attr-defined]
        output = await read(proxy, batch.output_file_id)  # type: ignore[attr-defined]
        errors = await read(proxy, batch.error_file_id)  # type: ignore[attr-defined]
    assert sorted(o["custom_id"] for o in output) == sorted(f"req-{i}" for i in range(10))
    first = next(o for o in output if o["custom_id"] == "req-3")
    assert first["response"]["status_code"] == 200
    assert first["response"]["body"]["choices"][0]["message"]["content"] == "echo: line 3"
    assert [e["custom_id"] for e in errors] == ["req-10"]
    assert errors[0]["response"]["status_code"] == 502


async def test_lines_go_through_the_keys_allowlist() -> None:
    async with make() as proxy:
        file_id = await upload(proxy, [chat_line(0, "chat")], key="vk-other-test-0003")
        created = await proxy.batches.create(
            {
                "input_file_id": file_id,
                "endpoint": "/v1/chat/completions",
                "completion_window": "24h",
            },
            api_key="vk-other-test-0003",
        )
        batch = await wait_finished(proxy, created.id, key="vk-other-test-0003")
        assert batch.request_counts.completed == 1  # type: ignore[attr-defined]
        # the team key may not use "other-model": that line fails with 403
        file_id = await upload(proxy, [chat_line(1, "chat"), chat_line(2, "gpt-x")])
        created = await proxy.batches.create(
            {
                "input_file_id": file_id,
                "endpoint": "/v1/chat/completions",
                "completion_window": "24h",
            },
            api_key=TEAM,
        )
        batch = await wait_finished(proxy, created.id)
        errors = await read(proxy, batch.error_file_id)  # type: ignore[attr-defined]
    assert errors[0]["custom_id"] == "req-2" and errors[0]["response"]["status_code"] == 403


async def test_a_key_sees_only_its_own_batches() -> None:
    async with make() as proxy:
        file_id = await upload(proxy, [chat_line(0)])
        created = await proxy.batches.create(
            {
                "input_file_id": file_id,
                "endpoint": "/v1/chat/completions",
                "completion_window": "24h",
            },
            api_key=TEAM,
        )
        with pytest.raises(NotFoundError):
            await proxy.batches.retrieve(created.id, api_key="vk-other-test-0003")
        with pytest.raises(NotFoundError):
            await proxy.batches.cancel(created.id, api_key="vk-other-test-0003")
        assert (await proxy.batches.list(api_key="vk-other-test-0003")).data == []
        assert [b.id for b in (await proxy.batches.list(api_key=TEAM)).data] == [created.id]
        assert [b.id for b in (await proxy.batches.list(api_key=MASTER)).data] == [created.id]
        await wait_finished(proxy, created.id)


@pytest.mark.parametrize(
    ("lines", "code"),
    [
        (
            [{"custom_id": "a", "method": "GET", "url": "/v1/chat/completions", "body": {}}],
            "invalid_method",
        ),
        (
            [{"custom_id": "a", "method": "POST", "url": "/v1/embeddings", "body": {}}],
            "mismatched_url",
        ),
        ([chat_line(1), chat_line(1)], "duplicate_custom_id"),
    ],
)
async def test_an_invalid_input_file_fails_the_batch(lines: list[dict], code: str) -> None:
    async with make() as proxy:
        file_id = await upload(proxy, lines)
        created = await proxy.batches.create(
            {
                "input_file_id": file_id,
                "endpoint": "/v1/chat/completions",
                "completion_window": "24h",
            },
            api_key=TEAM,
        )
    assert created.status == "failed"
    assert created.errors is not None and created.errors["data"][0]["code"] == code


async def test_create_checks_its_fields() -> None:
    async with make() as proxy:
        file_id = await upload(proxy, [chat_line(0)])
        for body, param in (
            (
                {
                    "input_file_id": file_id,
                    "endpoint": "/v1/audio/speech",
                    "completion_window": "24h",
                },
                "endpoint",
            ),
            (
                {"input_file_id": file_id, "endpoint": "/v1/embeddings", "completion_window": "1h"},
                "completion_window",
            ),
        ):
            with pytest.raises(BadRequestError) as caught:
                await proxy.batches.create(body, api_key=TEAM)
            assert caught.value.param == param
        with pytest.raises(NotFoundError):
            await proxy.batches.create(
                {
                    "input_file_id": file_id,
                    "endpoint": "/v1/embeddings",
                    "completion_window": "24h",
                },
                api_key="vk-other-test-0003",
            )


async def test_cancel_stops_and_lists_unrun_lines_as_cancelled() -> None:
    async with make(extra="") as proxy:
        file_id = await upload(proxy, [chat_line(i) for i in range(200)])
        created = await proxy.batches.create(
            {
                "input_file_id": file_id,
                "endpoint": "/v1/chat/completions",
                "completion_window": "24h",
            },
            api_key=TEAM,
        )
        cancelling = await proxy.batches.cancel(created.id, api_key=TEAM)
        assert cancelling.status in ("cancelling", "cancelled")
        batch = await wait_finished(proxy, created.id)
        assert batch.status == "cancelled"  # type: ignore[attr-defined]
        output = await read(proxy, batch.output_file_id) if batch.output_file_id else []  # type: ignore[attr-defined]
        errors = await read(proxy, batch.error_file_id)  # type: ignore[attr-defined]
    ids = [o["custom_id"] for o in output] + [e["custom_id"] for e in errors]
    assert sorted(ids) == sorted(f"req-{i}" for i in range(200))
    assert {e["error"]["code"] for e in errors} == {"batch_cancelled"}


async def test_a_restart_resumes_without_running_a_claimed_line_twice(tmp_path: Path) -> None:
    state = f'\n[state]\nbackend = "sqlite"\n[state.backend_config]\npath = "{tmp_path / "s.db"}"\n'
    files = f'\n[files]\nbackend = "fs"\n[files.backend_config]\nroot = "{tmp_path / "files"}"\n'
    upstream = FakeUpstream()
    first = make(upstream, state + files)
    await first.start()
    file_id = await upload(first, [chat_line(i) for i in range(30)])
    created = await first.batches.create(
        {"input_file_id": file_id, "endpoint": "/v1/chat/completions", "completion_window": "24h"},
        api_key=TEAM,
    )
    # stop as if killed: the runner stops mid-batch; one line is claimed by a worker
    # that will never report back
    await first.batches.runner.aclose()
    book = first.batches._book
    doc = await book.load(created.id)
    assert doc is not None
    ghost = await book.claim(doc, "w-dead")
    assert ghost is not None
    await first.aclose()
    ran_before = len(upstream.requests)

    second = make(upstream, state + files)
    async with second:
        batch = await wait_finished(second, created.id)
        output = await read(second, batch.output_file_id)  # type: ignore[attr-defined]
        errors = await read(second, batch.error_file_id) if batch.error_file_id else []  # type: ignore[attr-defined]
    ids = [o["custom_id"] for o in output] + [e["custom_id"] for e in errors]
    assert sorted(ids) == sorted(f"req-{i}" for i in range(30))
    assert [e["custom_id"] for e in errors] == [f"req-{ghost}"]
    assert errors[0]["error"]["code"] == "interrupted"
    # every other line reached the upstream exactly once; the ghost's line never did
    bodies = [msgspec.json.decode(r.body)["messages"][0]["content"] for r in upstream.requests]
    assert sorted(bodies) == sorted(f"line {i}" for i in range(30) if i != ghost)
    assert ran_before <= len(upstream.requests)


async def test_two_gateways_on_redis_share_one_batch(tmp_path: Path, redis_url: str) -> None:
    shared = (
        f'\n[state]\nbackend = "redis"\n[state.backend_config]\nurl = "{redis_url}"\n'
        f'prefix = "batches-{tmp_path.name}:"\n'
        f'\n[files]\nbackend = "fs"\n[files.backend_config]\nroot = "{tmp_path / "files"}"\n'
    )
    upstream = FakeUpstream()
    one, two = make(upstream, shared), make(upstream, shared)
    async with one:
        file_id = await upload(one, [chat_line(i) for i in range(300)])
        created = await one.batches.create(
            {
                "input_file_id": file_id,
                "endpoint": "/v1/chat/completions",
                "completion_window": "24h",
            },
            api_key=TEAM,
        )
        await one.batches.runner.aclose()  # hold the first until the second is up
        async with two:  # starts after the batch exists: it resumes it too
            one.batches.runner.wake()
            batch = await wait_finished(two, created.id)
            claims = await two.batches._book.claims(created.id)
            output = await read(two, batch.output_file_id)  # type: ignore[attr-defined]
    assert sorted(o["custom_id"] for o in output) == sorted(f"req-{i}" for i in range(300))
    assert len(set(claims.values())) == 2, "both gateways ran lines"
    bodies = [msgspec.json.decode(r.body)["messages"][0]["content"] for r in upstream.requests]
    assert len(bodies) == len(set(bodies)) == 300


async def test_a_batch_past_its_window_expires_with_its_unrun_lines() -> None:
    clock = FakeClock()
    proxy = Proxy.from_config(config(TOML), transport=FakeUpstream(), clock=clock, environ={})
    async with proxy:
        file_id = await upload(proxy, [chat_line(i) for i in range(5)])
        created = await proxy.batches.create(
            {
                "input_file_id": file_id,
                "endpoint": "/v1/chat/completions",
                "completion_window": "24h",
            },
            api_key=TEAM,
        )
        await proxy.batches.runner.aclose()  # nothing ran yet
        clock.advance(24 * 3600 + 1)
        await proxy.batches.runner.tick()
        batch = await proxy.batches.retrieve(created.id, api_key=TEAM)
        errors = await read(proxy, batch.error_file_id or "")
    assert batch.status == "expired" and batch.expired_at is not None
    assert batch.output_file_id is None
    assert {e["error"]["code"] for e in errors} == {"batch_expired"}
    assert len(errors) == 5


async def test_batch_lines_wait_while_live_traffic_is_busy() -> None:
    clock = FakeClock()
    busy = iter([40, 40, 10])
    runner = BatchRunner(
        BatchBook(MemoryStateStore()),
        None,  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
        clock,
        BatchesConfig(yield_to_live=32),
        lambda: next(busy),
    )
    await runner._yield_to_live()
    assert clock.sleeps == [0.1, 0.1]
