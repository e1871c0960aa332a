"""In-process: resolution, authentication and every error path of `Proxy`."""

from __future__ import annotations

import pytest

import literllm
from literllm import (
    AuthenticationError,
    BadRequestError,
    ChatStream,
    GatewayTimeoutError,
    NotFoundError,
    PermissionDeniedError,
    Proxy,
    Response,
    UpstreamError,
)
from literllm.testing import Delay, FakeClock, FakeUpstream, Reply
from tests.support.configs import MASTER, MOCK_POOL, TEAM, config

MODELS = """
[[models]]
name = "chat"
provider_model = "mock/echo"

[[models]]
name = "gpt"
provider_model = "openai/gpt-4o"
api_key = "sk-upstream-0001"
base_url = "https://openai.test/v1"

[[aliases]]
pattern = "anthropic/claude-3*"
api_key = "sk-ant-first"
base_url = "https://first.test/v1"

[[aliases]]
pattern = "anthropic/*"
api_key = "sk-ant-second"

[[keys]]
key = "vk-team-test-0002"
description = "team"
models = ["chat"]
"""
MESSAGES = [{"role": "user", "content": "hi"}]


def proxy(
    upstream: FakeUpstream | None = None, toml: str = MODELS, environ: dict[str, str] | None = None
) -> Proxy:
    return Proxy.from_config(
        config(toml), transport=upstream or FakeUpstream(), clock=FakeClock(), environ=environ or {}
    )


async def test_pool_sends_provider_model_id() -> None:
    upstream = FakeUpstream()
    async with proxy(upstream) as p:
        await p.chat({"model": "gpt", "messages": MESSAGES}, api_key=MASTER)
    assert upstream.bodies()[0]["model"] == "gpt-4o"


ANTHROPIC_ANSWER = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "claude-3-5-haiku",
    "content": [{"type": "text", "text": "hi"}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {"input_tokens": 3, "output_tokens": 1},
}


async def test_passthrough_uses_first_matching_alias() -> None:
    upstream = FakeUpstream()
    upstream.script(Reply(200, json=ANTHROPIC_ANSWER), Reply(200, json=ANTHROPIC_ANSWER))
    async with proxy(upstream) as p:
        for model in ("anthropic/claude-3-5-haiku", "anthropic/claude-sonnet-4"):
            await p.chat({"model": model, "messages": MESSAGES}, api_key=MASTER)
    first, second = upstream.requests
    assert (
        first.url.startswith("https://first.test/v1")
        and first.headers["x-api-key"] == "sk-ant-first"
    )
    assert second.headers["x-api-key"] == "sk-ant-second"


OPEN = f'[general]\nmaster_key = "{MASTER}"\npassthrough = true\n' + MODELS


async def test_passthrough_falls_back_to_environment_credential() -> None:
    upstream = FakeUpstream()
    async with proxy(upstream, OPEN, environ={"GROQ_API_KEY": "gsk-env"}) as p:
        await p.chat({"model": "groq/llama3-70b", "messages": MESSAGES}, api_key=MASTER)
    assert upstream.requests[0].headers["authorization"] == "Bearer gsk-env"
    assert upstream.requests[0].url == "https://api.groq.com/openai/v1/chat/completions"


async def test_missing_credential_names_the_variable() -> None:
    async with proxy(toml=OPEN) as p:
        with pytest.raises(literllm.LiterLLMError) as caught:
            await p.chat({"model": "groq/llama3-70b", "messages": MESSAGES}, api_key=MASTER)
    assert "GROQ_API_KEY" in caught.value.message


@pytest.mark.parametrize("model", ["nope", "unknownprovider/x", "openai/"])
async def test_unknown_model_is_404_with_advice(model: str) -> None:
    async with proxy() as p:
        with pytest.raises(NotFoundError) as caught:
            await p.chat({"model": model, "messages": MESSAGES}, api_key=MASTER)
    assert "[[models]]" in caught.value.message and caught.value.param == "model"


@pytest.mark.parametrize("token", [None, "", "wrong", MASTER + "x", MASTER[:-1]])
async def test_bad_keys_are_401(token: str | None) -> None:
    async with proxy() as p:
        with pytest.raises(AuthenticationError):
            await p.chat({"model": "chat", "messages": MESSAGES}, api_key=token)


async def test_closed_gateway_tells_operator_what_to_do() -> None:
    closed = Proxy.from_config(
        config("[[models]]\nname='m'\nprovider_model='mock/x'\n", master=False), environ={}
    )
    async with closed as p:
        with pytest.raises(AuthenticationError) as caught:
            p.list_models(api_key="anything")
    assert "master_key" in caught.value.message and caught.value.status == 401
    assert closed.readiness() == (
        False,
        "no API keys are configured: set [general] master_key or add [[keys]]",
    )


async def test_empty_master_key_never_authenticates() -> None:
    cfg = config('[general]\nmaster_key = ""\n[[keys]]\nkey = "vk-1234567"\n', master=False)
    async with Proxy.from_config(cfg, environ={}) as p:
        with pytest.raises(AuthenticationError):
            p.list_models(api_key="")


async def test_virtual_key_model_allowlist() -> None:
    async with proxy() as p:
        with pytest.raises(PermissionDeniedError):
            await p.chat({"model": "gpt", "messages": MESSAGES}, api_key=TEAM)
        answer = await p.chat({"model": "chat", "messages": MESSAGES}, api_key=TEAM)
        assert answer.json()["choices"][0]["message"]["content"] == "echo: hi"
        assert [m.id for m in p.list_models(api_key=TEAM).data] == ["chat"]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (b"{not json", None),
        (b"[]", None),
        ({"messages": MESSAGES}, "model"),
        ({"model": 3, "messages": MESSAGES}, "model"),
        ({"model": "chat"}, "messages"),
        ({"model": "chat", "messages": []}, "messages"),
        ({"model": "chat", "messages": [{"content": "x"}]}, "messages[0].role"),
        ({"model": "chat", "messages": MESSAGES, "max_tokens": 0}, "max_tokens"),
        ({"model": "chat", "messages": MESSAGES, "stream": "yes"}, "stream"),
    ],
)
async def test_invalid_requests_name_the_field(body: object, param: str | None) -> None:
    async with proxy() as p:
        with pytest.raises(BadRequestError) as caught:
            await p.chat(body, api_key=MASTER)  # type: ignore[arg-type]
    assert caught.value.param == param


async def test_upstream_401_says_our_credential_is_wrong_without_showing_it() -> None:
    upstream = FakeUpstream()
    upstream.script(Reply(401, json={"error": {"message": "Incorrect API key sk-upstream-0001"}}))
    async with proxy(upstream) as p:
        with pytest.raises(UpstreamError) as caught:
            await p.chat({"model": "gpt", "messages": MESSAGES}, api_key=MASTER)
    assert caught.value.status == 502
    assert "credential" in caught.value.message
    assert "sk-upstream-0001" not in caught.value.message


async def test_upstream_timeout_is_504() -> None:
    clock = FakeClock()
    upstream = FakeUpstream(clock)
    upstream.script(*[Delay(1000)] * 4)
    async with Proxy.from_config(config(MODELS), transport=upstream, clock=clock, environ={}) as p:
        with pytest.raises(UpstreamError) as caught:
            await p.chat({"model": "gpt", "messages": MESSAGES}, api_key=MASTER)
    assert caught.value.status == 504


async def test_request_timeout_is_504() -> None:
    class Slow(FakeUpstream):
        async def send(self, request, *, timeout):  # type: ignore[no-untyped-def]
            import asyncio

            await asyncio.Event().wait()

    cfg = config(MODELS + "\n[server]\nrequest_timeout_secs = 0\n")
    async with Proxy.from_config(cfg, transport=Slow(), environ={}) as p:
        with pytest.raises(GatewayTimeoutError) as caught:
            await p.chat({"model": "gpt", "messages": MESSAGES}, api_key=MASTER)
    assert "request_timeout_secs" in caught.value.message


async def test_stream_as_library_yields_chunks() -> None:
    async with proxy() as p:
        stream = await p.chat_stream({"model": "chat", "messages": MESSAGES}, api_key=MASTER)
        chunks = [c async for c in stream.json_chunks()]
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == "echo: hi"


async def test_chat_completions_answers_as_the_body_asks() -> None:
    async with proxy() as p:
        body = b'{"model": "chat", "messages": [{"role": "user", "content": "hi"}]}'
        answer = await p.chat_completions(body, api_key=MASTER)
        assert isinstance(answer, Response) and answer.json()["object"] == "chat.completion"
        streamed = await p.chat_completions(
            {"model": "chat", "stream": True, "messages": MESSAGES}, api_key=MASTER
        )
        assert isinstance(streamed, ChatStream)
        chunks = [c async for c in streamed.json_chunks()]
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == "echo: hi"


async def test_health_and_readiness() -> None:
    p = proxy()
    assert p.readiness() == (False, "starting")
    async with p:
        assert p.readiness() == (True, "ready")
        health = p.health()
    assert health.status == "healthy"
    assert {d.deployment for d in health.deployments} == {"chat#1", "gpt#2"}


async def test_request_deadline_cuts_an_attempt_and_ends_the_request() -> None:
    clock = FakeClock()
    upstream = FakeUpstream(clock)
    upstream.script(Delay(7))
    cfg = config(MODELS + "\n[server]\nrequest_timeout_secs = 5\n")
    async with Proxy.from_config(cfg, transport=upstream, clock=clock, environ={}) as p:
        with pytest.raises(GatewayTimeoutError) as caught:
            await p.chat({"model": "gpt", "messages": MESSAGES}, api_key=MASTER)
    assert caught.value.code == "request_timeout"
    assert upstream.timeouts == [5.0]  # the attempt got what was left, and no retry followed


async def test_a_dead_cache_backend_never_fails_a_request_and_is_counted() -> None:
    import socket

    from prometheus_client.parser import text_string_to_metric_families

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    toml = MODELS + (
        f'\n[cache]\nbackend = "redis"\nttl_seconds = 60\n'
        f'[cache.backend_config]\nendpoint = "redis://127.0.0.1:{port}"\n'
    )
    async with proxy(toml=toml) as p:
        answer = await p.chat({"model": "chat", "messages": MESSAGES}, api_key=MASTER)
        assert answer.headers["x-literllm-cache"] == "miss"
        body, _ = await p.admin.metrics(api_key=MASTER)
    samples = {
        (s.name, s.labels.get("event")): s.value
        for family in text_string_to_metric_families(body.decode())
        for s in family.samples
    }
    assert samples[("literllm_cache_backend_events_total", "error")] >= 1


async def test_authentication_comes_before_reading_the_body() -> None:
    async with proxy() as p:
        with pytest.raises(AuthenticationError):
            await p.chat(b"{not json", api_key="wrong")
        with pytest.raises(AuthenticationError):
            await p.chat({"messages": []}, api_key=None)


class _ClosingUpstream(FakeUpstream):
    def __init__(self) -> None:
        super().__init__()
        self.closed = False

    async def aclose(self) -> None:
        self.closed = True


async def test_aclose_closes_the_upstream_transport_when_an_earlier_step_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    upstream = _ClosingUpstream()
    cached = MOCK_POOL + '\n[cache]\nbackend = "memory"\nmax_entries = 10\n'
    proxy = Proxy.from_config(config(cached), transport=upstream, environ={})
    await proxy.start()

    async def broken() -> None:
        raise OSError("cache store gone")

    cache = proxy._services.cache
    assert cache is not None
    monkeypatch.setattr(cache, "aclose", broken)
    with pytest.raises(OSError, match="cache store gone"):
        await proxy.aclose()
    assert upstream.closed
