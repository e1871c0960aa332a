"""Every hook point, in-process: modify, reject, contain failures, stream, complete."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from literllm import ConfigError, Proxy
from literllm.errors import LiterLLMError
from literllm.hooks import (
    Completion,
    EndStream,
    Hook,
    HookFailedError,
    Registered,
    RequestContext,
    RequestRejected,
)
from literllm.testing import FakeClock, FakeUpstream, Reply, StreamReply
from tests.core.hooks.sample_hooks import Shouter, Tagger
from tests.support.configs import MASTER, TEAM, config

MODELS = """
[[models]]
name = "chat"
provider_model = "mock/echo"

[[models]]
name = "embed"
provider_model = "mock/embed"

[[models]]
name = "gpt"
provider_model = "openai/gpt-4o"
api_key = "sk-upstream-0001"
base_url = "https://openai.test/v1"

[[keys]]
key = "vk-team-test-0002"
description = "team"
"""
HI = [{"role": "user", "content": "hi"}]


def proxy(*hooks: object, toml: str = MODELS, upstream: FakeUpstream | None = None) -> Proxy:
    return Proxy.from_config(
        config(toml), transport=upstream or FakeUpstream(), clock=FakeClock(), hooks=hooks
    )


def chunk(content: str | None, finish: str | None = None, role: bool = False) -> dict[str, Any]:
    delta: dict[str, Any] = {}
    if role:
        delta["role"] = "assistant"
    if content is not None:
        delta["content"] = content
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gpt-4o",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def answer(content: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4o",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
    }


async def test_before_request_modifies_what_the_upstream_receives() -> None:
    upstream = FakeUpstream()
    upstream.script(Reply(json=answer("ok")))
    async with proxy(Tagger(tag="be brief"), upstream=upstream) as p:
        await p.chat({"model": "gpt", "messages": HI}, api_key=MASTER)
    sent = upstream.bodies()[0]["messages"]
    assert sent[0] == {"role": "system", "content": "be brief"}
    assert sent[1] == HI[0]


async def test_before_request_rejection_has_the_chosen_status_and_body() -> None:
    upstream = FakeUpstream()
    async with proxy(Tagger(forbidden="weather", status=403), upstream=upstream) as p:
        with pytest.raises(RequestRejected) as caught:
            await p.chat(
                {"model": "gpt", "messages": [{"role": "user", "content": "weather?"}]},
                api_key=MASTER,
            )
    assert caught.value.status == 403
    assert caught.value.to_dict() == {
        "error": {
            "message": "this topic is not allowed here",
            "type": "invalid_request_error",
            "param": None,
            "code": "content_blocked",
        }
    }
    assert upstream.bodies() == []  # never sent upstream


async def test_after_response_modifies_the_answer() -> None:
    async with proxy(Shouter()) as p:
        response = await p.chat({"model": "chat", "messages": HI}, api_key=MASTER)
    assert response.json()["choices"][0]["message"]["content"] == "ECHO: HI"


class Refuser(Hook):
    async def after_response(self, ctx: RequestContext, body: dict[str, Any]) -> None:
        raise RequestRejected("answer withheld", status=451, code="answer_blocked")


async def test_after_response_rejection_is_charged_but_refused() -> None:
    upstream = FakeUpstream()
    upstream.script(Reply(json=answer("secret plan")))
    async with proxy(Refuser(), upstream=upstream) as p:
        with pytest.raises(RequestRejected) as caught:
            await p.chat({"model": "gpt", "messages": HI}, api_key=MASTER)
    assert caught.value.status == 451
    assert caught.value.code == "answer_blocked"


class Broken(Hook):
    def __init__(self, point: str) -> None:
        self.point = point

    async def before_request(self, ctx: RequestContext) -> None:
        if self.point == "before_request":
            raise KeyError("boom")

    async def after_response(self, ctx: RequestContext, body: dict[str, Any]) -> None:
        if self.point == "after_response":
            raise ZeroDivisionError("boom")

    async def on_complete(self, ctx: RequestContext, completion: Completion) -> None:
        if self.point == "on_complete":
            raise RuntimeError("boom in on_complete")


@pytest.mark.parametrize("point", ["before_request", "after_response"])
async def test_failing_hook_fails_the_request_with_500_and_logs_why(
    point: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with proxy(Broken(point)) as p:
        with (
            caplog.at_level(logging.ERROR, "literllm.hooks"),
            pytest.raises(HookFailedError) as caught,
        ):
            await p.chat({"model": "chat", "messages": HI}, api_key=MASTER)
    assert caught.value.status == 500
    assert caught.value.code == "hook_failed"
    assert "Broken" in caught.value.message and point in caught.value.message
    assert "boom" not in caught.value.message  # the reason stays in the log
    assert any(point in r.getMessage() and "boom" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("point", ["before_request", "after_response"])
async def test_failing_hook_set_to_skip_lets_the_request_through(point: str) -> None:
    async with proxy(Registered(Broken(point), on_failure="skip")) as p:
        response = await p.chat({"model": "chat", "messages": HI}, api_key=MASTER)
    assert response.json()["choices"][0]["message"]["content"] == "echo: hi"


async def test_failing_on_complete_is_logged_and_never_reaches_the_client(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with proxy(Broken("on_complete")) as p:
        with caplog.at_level(logging.ERROR, "literllm.hooks"):
            response = await p.chat({"model": "chat", "messages": HI}, api_key=MASTER)
            await p.drain_hooks()
    assert response.status == 200
    assert any("on_complete" in r.getMessage() for r in caplog.records)


async def test_on_complete_reports_the_outcome() -> None:
    tagger = Tagger()
    upstream = FakeUpstream()
    upstream.script(Reply(json=answer("ok")))
    toml = MODELS + "[general]\nenable_cost_tracking = true\n"
    async with proxy(tagger, upstream=upstream, toml=toml.replace("[general]\n", "", 0)) as p:
        await p.chat({"model": "gpt", "messages": HI}, api_key=TEAM)
        await p.drain_hooks()
    (done,) = tagger.completions
    assert done.status == 200
    assert done.model == "gpt" and done.kind == "chat" and not done.stream
    assert done.key == "team" and done.key_id.startswith("k-")
    assert done.deployment is not None and done.provider_model == "openai/gpt-4o"
    assert done.usage is not None and done.usage.total_tokens == 5
    assert done.cost is not None and done.cost > 0
    assert done.latency >= 0


class ErrorWatcher(Hook):
    def __init__(self) -> None:
        self.errors: list[BaseException] = []
        self.statuses: list[int] = []

    async def on_error(self, ctx: RequestContext, error: BaseException) -> None:
        self.errors.append(error)

    async def on_complete(self, ctx: RequestContext, completion: Completion) -> None:
        self.statuses.append(completion.status)


async def test_on_error_sees_upstream_failures() -> None:
    watcher = ErrorWatcher()
    upstream = FakeUpstream()
    upstream.script(*[Reply(status=400, json={"error": {"message": "bad"}})])
    async with proxy(watcher, upstream=upstream) as p:
        with pytest.raises(LiterLLMError):
            await p.chat({"model": "gpt", "messages": HI}, api_key=MASTER)
        await p.drain_hooks()
    assert len(watcher.errors) == 1
    assert watcher.statuses == [400]


async def test_embeddings_pass_through_before_request() -> None:
    class Lower(Hook):
        async def before_request(self, ctx: RequestContext) -> None:
            assert ctx.kind == "embeddings"
            ctx.body["input"] = ctx.body["input"].lower()

    upstream = FakeUpstream()
    async with proxy(Lower(), upstream=upstream) as p:
        await p.embeddings({"model": "embed", "input": "HELLO"}, api_key=MASTER)
    assert upstream.bodies()[0]["input"] == "hello"


async def test_scope_by_key_and_model() -> None:
    class Count(Hook):
        def __init__(self) -> None:
            self.seen: list[tuple[str, str]] = []

        async def before_request(self, ctx: RequestContext) -> None:
            self.seen.append((ctx.key, ctx.model))

    by_key, by_model = Count(), Count()
    hooks = [Registered(by_key, keys=["team"]), Registered(by_model, models=["embed"])]
    async with proxy(*hooks) as p:
        await p.chat({"model": "chat", "messages": HI}, api_key=MASTER)
        await p.chat({"model": "chat", "messages": HI}, api_key=TEAM)
        await p.embeddings({"model": "embed", "input": "x"}, api_key=MASTER)
    assert by_key.seen == [("team", "chat")]
    assert by_model.seen == [("master", "embed")]


async def test_a_hook_may_not_change_the_model() -> None:
    class Reroute(Hook):
        async def before_request(self, ctx: RequestContext) -> None:
            ctx.body["model"] = "gpt"

    async with proxy(Reroute()) as p:
        with pytest.raises(HookFailedError):
            await p.chat({"model": "chat", "messages": HI}, api_key=MASTER)


def test_an_object_without_hook_points_is_refused() -> None:
    with pytest.raises(TypeError, match="does not implement any hook point"):
        proxy(Hook())


# -- streams ---------------------------------------------------------------------------


class Replace(Hook):
    async def on_stream_chunk(
        self, ctx: RequestContext, chunk: dict[str, Any]
    ) -> list[dict[str, Any]] | None:
        delta = chunk["choices"][0]["delta"] if chunk.get("choices") else {}
        if delta.get("content"):
            delta["content"] = delta["content"].replace("cat", "dog")
            return [chunk]
        return None


async def collect(p: Proxy, model: str = "gpt") -> list[dict[str, Any]]:
    stream = await p.chat_stream({"model": model, "messages": HI}, api_key=MASTER)
    async with stream:
        return [c async for c in stream.json_chunks()]


def text_of(chunks: list[dict[str, Any]]) -> str:
    return "".join(
        c["choices"][0]["delta"].get("content") or "" for c in chunks if c.get("choices")
    )


async def test_on_stream_chunk_modifies_chunks() -> None:
    upstream = FakeUpstream()
    upstream.script(
        StreamReply(
            [chunk("", role=True), chunk("a cat"), chunk(" and a cat"), chunk(None, "stop")]
        )
    )
    async with proxy(Replace(), upstream=upstream) as p:
        chunks = await collect(p)
    assert text_of(chunks) == "a dog and a dog"
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


class Stopper(Hook):
    async def on_stream_chunk(
        self, ctx: RequestContext, chunk: dict[str, Any]
    ) -> list[dict[str, Any]] | None:
        if "stop here" in str(chunk):
            raise EndStream()
        return None


async def test_on_stream_chunk_ends_the_stream_with_content_filter() -> None:
    watcher = ErrorWatcher()
    upstream = FakeUpstream()
    upstream.script(
        StreamReply(
            [
                chunk("", role=True),
                chunk("fine"),
                chunk(" stop here"),
                chunk(" never"),
                chunk(None, "stop"),
            ]
        )
    )
    async with proxy(Stopper(), watcher, upstream=upstream) as p:
        chunks = await collect(p)
        await p.drain_hooks()
    assert text_of(chunks) == "fine"
    assert chunks[-1]["choices"][0] == {"index": 0, "delta": {}, "finish_reason": "content_filter"}
    assert chunks[-1]["id"] == "chatcmpl-1"
    # Settled and recorded once (the status of a stream closed early is routing's call).
    assert len(watcher.statuses) == 1


async def test_stream_hook_failure_is_an_error_in_the_stream() -> None:
    class Crash(Hook):
        async def on_stream_chunk(
            self, ctx: RequestContext, chunk: dict[str, Any]
        ) -> list[dict[str, Any]] | None:
            if "two" in str(chunk):
                raise ValueError("crash")
            return None

    upstream = FakeUpstream()
    upstream.script(StreamReply([chunk("one"), chunk(" two"), chunk(None, "stop")]))
    async with proxy(Crash(), upstream=upstream) as p:
        stream = await p.chat_stream({"model": "gpt", "messages": HI}, api_key=MASTER)
        seen = []
        with pytest.raises(HookFailedError):
            async for c in stream.json_chunks():
                seen.append(c)
        await stream.aclose()
    assert text_of(seen) == "one"


async def test_before_request_rejects_a_stream_before_it_opens() -> None:
    upstream = FakeUpstream()
    async with proxy(Tagger(forbidden="hi", status=422), upstream=upstream) as p:
        with pytest.raises(RequestRejected) as caught:
            await p.chat_stream({"model": "gpt", "messages": HI}, api_key=MASTER)
    assert caught.value.status == 422
    assert upstream.bodies() == []


# -- config ----------------------------------------------------------------------------

HOOK_TABLE = """
[[hooks]]
path = "tests.core.hooks.sample_hooks:Tagger"
on = ["before_request"]
models = ["gpt"]

[hooks.settings]
forbidden = "weather"
status = 409
"""


async def test_hook_loaded_from_config() -> None:
    upstream = FakeUpstream()
    async with proxy(toml=MODELS + HOOK_TABLE, upstream=upstream) as p:
        with pytest.raises(RequestRejected) as caught:
            await p.chat(
                {"model": "gpt", "messages": [{"role": "user", "content": "weather"}]},
                api_key=MASTER,
            )
        await p.chat({"model": "chat", "messages": HI}, api_key=MASTER)  # out of scope
    assert caught.value.status == 409


@pytest.mark.parametrize(
    ("path", "settings", "line", "expected"),
    [
        ("tests.core.hooks.nowhere:Tagger", "", 3, "cannot import module"),
        ("tests.core.hooks.sample_hooks:Missing", "", 3, 'has no attribute "Missing"'),
        ("tests.core.hooks.sample_hooks", "", 3, "package.module:factory"),
        ("tests.core.hooks.sample_hooks:make_tagger", "", 3, "cannot take these settings"),
        (
            "tests.core.hooks.sample_hooks:Tagger",
            "[hooks.settings]\ncolour = 1\n",
            4,
            "unexpected keyword argument 'colour'",
        ),
    ],
)
def test_bad_hook_path_or_signature_is_a_located_config_error(
    path: str, settings: str, line: int, expected: str
) -> None:
    text = f'[general]\nmaster_key = "x"\n[[hooks]]\npath = "{path}"\n{settings}'
    from literllm.config import parse_config

    with pytest.raises(ConfigError) as caught:
        parse_config(text, "gateway.toml", environ={})
    error = caught.value
    assert error.path == "gateway.toml"
    assert error.line == line + 1 if settings else error.line == 4
    assert expected in error.detail


def test_factory_returning_no_hook_stops_startup() -> None:
    toml = MODELS + '[[hooks]]\npath = "tests.core.hooks.sample_hooks:not_a_hook"\n'
    with pytest.raises(ConfigError, match="does not implement any hook point"):
        proxy(toml=toml)


def test_on_naming_a_point_the_hook_lacks_stops_startup() -> None:
    toml = MODELS + (
        '[[hooks]]\npath = "tests.core.hooks.sample_hooks:Shouter"\non = ["before_request"]\n'
    )
    with pytest.raises(ConfigError, match="does not implement before_request"):
        proxy(toml=toml)


async def test_no_hooks_means_no_hook_objects_on_the_request_path() -> None:
    async with proxy() as p:
        exchange = p._exchange({"model": "chat", "messages": HI}, MASTER, "chat", None, None)
        assert exchange.hooks is None


async def test_after_response_kinds_limits_the_endpoints() -> None:
    class ChatOnly(Hook):
        kinds = frozenset({"chat"})

        async def after_response(self, ctx: RequestContext, body: dict[str, Any]) -> None:
            body["seen"] = ctx.kind

    async with proxy(ChatOnly()) as p:
        chat = await p.chat({"model": "chat", "messages": HI}, api_key=MASTER)
        embedded = await p.embeddings({"model": "embed", "input": "x"}, api_key=MASTER)
    assert chat.json()["seen"] == "chat"
    assert "seen" not in embedded.json()
