"""Hooks on every endpoint besides chat: the operations (images, speech, moderations,
rerank), `/v1/messages`, `/v1/responses`, and the lines of a batch (as the batch's key)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import msgspec
import pytest

from literllm import Proxy, Response
from literllm.errors import LiterLLMError
from literllm.hooks import Completion, Hook, RequestContext, RequestRejected
from literllm.testing import FakeClock, FakeUpstream, Reply, StreamReply
from tests.core.hooks.test_hooks_inprocess import chunk
from tests.support.configs import MASTER, TEAM, config

DATA = Path(__file__).resolve().parents[2] / "data"

TOML = """
[[models]]
name = "chat"
provider_model = "mock/echo"

[[models]]
name = "gpt"
provider_model = "openai/gpt-4o"
api_key = "sk-upstream-0001"
base_url = "https://openai.test/v1"

[[models]]
name = "image"
provider_model = "openai/gpt-image-1"
api_key = "sk-upstream-0001"
base_url = "https://images.test/v1"

[[models]]
name = "tts"
provider_model = "openai/tts-1"
api_key = "sk-upstream-0001"
base_url = "https://audio.test/v1"

[[models]]
name = "omni-moderation-latest"
provider_model = "mock/omni"

[[models]]
name = "rerank"
provider_model = "mock/echo"

[[keys]]
key = "vk-team-test-0002"
description = "team"

[batches]
concurrency = 2
poll_interval_secs = 0.05
"""


class Watch(Hook):
    """Sees every point; refuses a body that mentions "forbidden"; marks answers."""

    def __init__(self) -> None:
        self.before: list[tuple[str, str]] = []
        self.after: list[str] = []
        self.done: list[tuple[str, int, str]] = []

    async def before_request(self, ctx: RequestContext) -> None:
        self.before.append((ctx.kind, ctx.protocol))
        if "forbidden" in str(ctx.body):
            raise RequestRejected("not here", status=403)

    async def after_response(self, ctx: RequestContext, body: dict[str, Any]) -> None:
        self.after.append(ctx.kind)
        body["x_watched"] = True

    async def on_complete(self, ctx: RequestContext, completion: Completion) -> None:
        self.done.append((completion.kind, completion.status, completion.key))


def gateway(watch: Watch, upstream: FakeUpstream | None = None) -> Proxy:
    return Proxy.from_config(
        config(TOML), transport=upstream or FakeUpstream(), clock=FakeClock(), hooks=[watch]
    )


async def test_operations_run_every_point() -> None:
    watch, upstream = Watch(), FakeUpstream()
    upstream.script(Reply(json={"created": 1, "data": [{"b64_json": "AA=="}]}), url="images")
    async with gateway(watch, upstream) as p:
        image = await p.images_generate({"model": "image", "prompt": "x"}, api_key=MASTER)
        moderation = await p.moderations({"input": "hello"}, api_key=MASTER)
        rerank = await p.rerank(
            {"model": "rerank", "query": "q", "documents": ["a", "b"]}, api_key=MASTER
        )
        speech = await p.audio_speech(
            {"model": "tts", "input": "hello", "voice": "alloy", "response_format": "wav"},
            api_key=MASTER,
        )
        audio = b"".join([c async for c in speech])
        with pytest.raises(RequestRejected) as caught:
            await p.moderations({"input": "forbidden"}, api_key=MASTER)
        await p.drain_hooks()
    assert image.json()["x_watched"] and moderation.json()["x_watched"]
    assert rerank.json()["x_watched"]
    assert audio.startswith(b"RIFF")  # not JSON: after_response leaves it alone
    assert caught.value.status == 403
    kinds = [kind for kind, _ in watch.before]
    assert kinds == ["image_generation", "moderation", "rerank", "speech", "moderation"]
    assert watch.after == ["image_generation", "moderation", "rerank"]
    assert [(k, s) for k, s, _ in watch.done] == [
        ("image_generation", 200),
        ("moderation", 200),
        ("rerank", 200),
        ("speech", 200),
        ("moderation", 403),
    ]


async def test_messages_and_responses_report_their_kind_and_protocol() -> None:
    watch, upstream = Watch(), FakeUpstream()
    upstream.script(
        StreamReply([chunk("hi"), chunk(None, "stop")]),
        # gpt is an OpenAI deployment: /v1/responses goes natively
        StreamReply([(DATA / "openai" / "responses_stream.sse").read_bytes()], done=False),
        url="openai.test",
    )
    async with gateway(watch, upstream) as p:
        message = await p.messages(
            {"model": "chat", "max_tokens": 9, "messages": [{"role": "user", "content": "a"}]},
            api_key=TEAM,
        )
        answer = await p.responses.create({"model": "chat", "input": "a"}, api_key=TEAM)
        assert isinstance(answer, Response)
        stored = await p.responses.retrieve(answer.json()["id"], api_key=TEAM)
        assert stored.to_dict()["x_watched"]  # stored as the client got it
        for body in (
            {"model": "gpt", "max_tokens": 9, "messages": [{"role": "user", "content": "a"}]},
        ):
            stream = await p.messages({**body, "stream": True}, api_key=TEAM)
            assert not isinstance(stream, Response)
            async with stream:
                [e async for e in stream]
        stream = await p.responses.create(
            {"model": "gpt", "input": "a", "stream": True}, api_key=TEAM
        )
        assert not isinstance(stream, Response)
        async with stream:
            [e async for e in stream]
        with pytest.raises(RequestRejected):
            await p.responses.create({"model": "chat", "input": "forbidden"}, api_key=TEAM)
        await p.drain_hooks()
    assert isinstance(message, Response) and message.json()["x_watched"]
    assert isinstance(answer, Response) and answer.json()["x_watched"]
    assert watch.before == [
        ("messages", "anthropic"),
        ("responses", "responses"),
        ("messages", "anthropic"),
        ("responses", "responses"),
        ("responses", "responses"),
    ]
    assert watch.done == [
        ("messages", 200, "team"),
        ("responses", 200, "team"),
        ("messages", 200, "team"),
        ("responses", 200, "team"),
        ("responses", 403, "team"),
    ]


async def test_batch_lines_run_the_hooks_as_the_batchs_key() -> None:
    watch = Watch()
    lines = [
        {
            "custom_id": f"req-{i}",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {"model": "chat", "messages": [{"role": "user", "content": text}]},
        }
        for i, text in enumerate(["fine", "forbidden", "also fine"])
    ]
    data = b"".join(msgspec.json.encode(line) + b"\n" for line in lines)

    async def chunks() -> Any:
        yield data

    async with gateway(watch) as p:
        uploaded = await p.files.create(
            api_key=TEAM, filename="in.jsonl", purpose="batch", chunks=chunks()
        )
        batch = await p.batches.create(
            {
                "input_file_id": uploaded.id,
                "endpoint": "/v1/chat/completions",
                "completion_window": "24h",
            },
            api_key=TEAM,
        )
        for _ in range(400):
            batch = await p.batches.retrieve(batch.id, api_key=TEAM)
            if batch.status == "completed":
                break
            await asyncio.sleep(0.02)
        assert batch.status == "completed"
        output = await read(p, batch.output_file_id)
        errors = await read(p, batch.error_file_id)
        await p.drain_hooks()
    assert sorted(o["custom_id"] for o in output) == ["req-0", "req-2"]
    assert all(o["response"]["body"]["x_watched"] for o in output)
    (refused,) = errors
    assert refused["custom_id"] == "req-1"
    assert refused["response"]["status_code"] == 403
    assert refused["response"]["body"]["error"]["code"] == "content_blocked"
    assert sorted(watch.done) == [
        ("chat", 200, "team"),
        ("chat", 200, "team"),
        ("chat", 403, "team"),
    ]


async def read(p: Proxy, file_id: str | None) -> list[dict[str, Any]]:
    assert file_id is not None
    content = await p.files.content(file_id, api_key=TEAM)
    return [msgspec.json.decode(line) for line in b"".join([c async for c in content]).splitlines()]


async def test_on_failure_skip_on_a_stream_hook_lets_the_stream_through() -> None:
    from literllm.hooks import Registered

    class Breaks(Hook):
        async def on_stream_chunk(
            self, ctx: RequestContext, chunk: dict[str, Any]
        ) -> list[dict[str, Any]] | None:
            raise ValueError("stream hook bug")

    upstream = FakeUpstream()
    upstream.script(StreamReply([chunk("a"), chunk("b"), chunk(None, "stop")]))
    proxy = Proxy.from_config(
        config(TOML),
        transport=upstream,
        clock=FakeClock(),
        hooks=[Registered(Breaks(), on_failure="skip")],
    )
    async with proxy as p:
        stream = await p.chat_stream(
            {"model": "gpt", "messages": [{"role": "user", "content": "?"}]}, api_key=MASTER
        )
        async with stream:
            chunks = [c async for c in stream.json_chunks()]
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks) == "ab"


async def test_a_stream_hook_failure_fails_the_stream_by_default() -> None:
    class Breaks(Hook):
        async def on_stream_chunk(
            self, ctx: RequestContext, chunk: dict[str, Any]
        ) -> list[dict[str, Any]] | None:
            raise ValueError("stream hook bug")

    upstream = FakeUpstream()
    upstream.script(StreamReply([chunk("a"), chunk(None, "stop")]))
    async with Proxy.from_config(
        config(TOML), transport=upstream, clock=FakeClock(), hooks=[Breaks()]
    ) as p:
        stream = await p.messages(
            {
                "model": "gpt",
                "max_tokens": 9,
                "stream": True,
                "messages": [{"role": "user", "content": "?"}],
            },
            api_key=MASTER,
        )
        assert not isinstance(stream, Response)
        with pytest.raises(LiterLLMError) as caught:
            async with stream:
                [e async for e in stream]
    assert caught.value.status == 500 and caught.value.code == "hook_failed"


async def test_a_speech_stream_passes_stream_hooks_unchanged() -> None:
    guarded = TOML + '\n[[guardrails]]\ntype = "patterns"\n'  # a stream hook on every model
    async with Proxy.from_config(config(guarded), transport=FakeUpstream(), clock=FakeClock()) as p:
        speech = await p.audio_speech(
            {"model": "tts", "input": "hello", "voice": "alloy", "response_format": "wav"},
            api_key=MASTER,
        )
        audio = b"".join([c async for c in speech])
    assert audio.startswith(b"RIFF") and len(audio) > 44
