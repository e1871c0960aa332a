"""Passthrough is the operator's choice: a `provider/model` name that is not a [[models]]
entry is served only when an [[aliases]] pattern matches it, or for every known provider
under `[general] passthrough = true`; virtual keys may list glob patterns."""

from __future__ import annotations

from pathlib import Path

import pytest

from literllm import NotFoundError, PermissionDeniedError, Proxy
from literllm.auth import Authenticator
from literllm.testing import FakeClock, FakeUpstream
from tests.support.configs import MASTER, config

MESSAGES = [{"role": "user", "content": "hi"}]
ENV = {"OPENAI_API_KEY": "sk-env-openai", "GROQ_API_KEY": "gsk-env"}

CLOSED = """
[[models]]
name = "chat"
provider_model = "mock/echo"

[[aliases]]
pattern = "groq/*"

[[keys]]
key = "vk-groq-llama"
models = ["chat", "groq/llama-*"]
"""


def build(toml: str, name: str = "gateway.toml") -> tuple[Proxy, FakeUpstream]:
    upstream = FakeUpstream()
    proxy = Proxy.from_config(
        config(toml), transport=upstream, clock=FakeClock(), environ=ENV, config_name=name
    )
    return proxy, upstream


async def test_a_provider_model_no_alias_matches_is_404_saying_how_to_allow_it() -> None:
    proxy, upstream = build(CLOSED)
    async with proxy:
        with pytest.raises(NotFoundError) as caught:
            await proxy.chat({"model": "openai/gpt-4o", "messages": MESSAGES}, api_key=MASTER)
    message = caught.value.message
    assert caught.value.status == 404 and caught.value.param == "model"
    assert "passthrough is off" in message
    assert '[[models]] entry with provider_model = "openai/gpt-4o"' in message
    assert 'pattern = "openai/*"' in message
    assert "[general] passthrough = true in gateway.toml" in message
    assert upstream.requests == []  # the environment's OPENAI_API_KEY is never used


async def test_a_provider_model_an_alias_matches_is_served() -> None:
    proxy, upstream = build(CLOSED)
    async with proxy:
        await proxy.chat({"model": "groq/llama-3.3-70b", "messages": MESSAGES}, api_key=MASTER)
    assert upstream.requests[0].headers["authorization"] == "Bearer gsk-env"
    assert upstream.bodies()[0]["model"] == "llama-3.3-70b"


async def test_passthrough_true_opens_every_known_provider() -> None:
    proxy, upstream = build('[general]\nmaster_key = "' + MASTER + '"\npassthrough = true\n')
    async with proxy:
        await proxy.chat({"model": "openai/gpt-4o", "messages": MESSAGES}, api_key=MASTER)
        with pytest.raises(NotFoundError):  # still only providers the registry knows
            await proxy.chat({"model": "opneai/gpt-4o", "messages": MESSAGES}, api_key=MASTER)
    assert upstream.requests[0].headers["authorization"] == "Bearer sk-env-openai"
    assert len(upstream.requests) == 1


def test_passthrough_defaults_to_off() -> None:
    assert config("").general.passthrough is False


async def test_a_key_may_list_glob_patterns() -> None:
    proxy, upstream = build(CLOSED)
    async with proxy:
        await proxy.chat(
            {"model": "groq/llama-3.3-70b", "messages": MESSAGES}, api_key="vk-groq-llama"
        )
        await proxy.chat({"model": "chat", "messages": MESSAGES}, api_key="vk-groq-llama")
        with pytest.raises(PermissionDeniedError) as caught:
            await proxy.chat(
                {"model": "groq/mixtral-8x7b", "messages": MESSAGES}, api_key="vk-groq-llama"
            )
    assert "groq/llama-*" in caught.value.message
    assert [body["model"] for body in upstream.bodies()] == ["llama-3.3-70b", "echo"]


def test_glob_patterns_are_case_sensitive_and_literal_names_stay_exact() -> None:
    caller = Authenticator(MASTER, config(CLOSED).keys).authenticate("vk-groq-llama")
    assert caller.may_use("groq/llama-3")
    assert not caller.may_use("GROQ/llama-3")
    assert not caller.may_use("chat2")
    assert not caller.may_use("groq/llama")  # "llama-*" needs the dash


async def test_messages_name_the_config_file_loaded(tmp_path: Path) -> None:
    path = tmp_path / "quickstart-copy.toml"
    path.write_text(f'[general]\nmaster_key = "{MASTER}"\n' + CLOSED)
    proxy = Proxy.from_toml(path, transport=FakeUpstream(), clock=FakeClock(), environ={})
    async with proxy:
        for model in ("nope", "openai/gpt-4o"):
            with pytest.raises(NotFoundError) as caught:
                await proxy.chat({"model": model, "messages": MESSAGES}, api_key=MASTER)
            assert "quickstart-copy.toml" in caught.value.message
            assert "liter-llm-proxy.toml" not in caught.value.message
            assert str(tmp_path) not in caught.value.message  # clients see no directory
