"""The passthrough policy over HTTP, with the official openai SDK on 127.0.0.1."""

from __future__ import annotations

import openai
import pytest

from literllm import Proxy
from literllm.testing import FakeUpstream
from tests.support.configs import MASTER, config
from tests.support.openapi import validate
from tests.support.server import ServerThread

CONFIG = """
[[models]]
name = "chat"
provider_model = "mock/echo"

[[aliases]]
pattern = "groq/*"
api_key = "gsk-alias-0001"

[[keys]]
key = "vk-groq-llama-0002"
models = ["groq/llama-*"]
"""


def test_only_what_the_operator_allows_is_served_over_http() -> None:
    upstream = FakeUpstream()
    environ = {"OPENAI_API_KEY": "sk-env-never-used"}
    proxy = Proxy.from_config(
        config(CONFIG), transport=upstream, environ=environ, config_name="gateway.toml"
    )
    with ServerThread(proxy) as server:
        master = server.track(
            openai.OpenAI(base_url=server.url + "/v1", api_key=MASTER, max_retries=0)
        )
        with pytest.raises(openai.NotFoundError) as refused:
            master.chat.completions.create(
                model="openai/gpt-4o", messages=[{"role": "user", "content": "hi"}]
            )
        body = refused.value.response.json()
        validate(body, "ErrorResponse")
        assert body["error"]["code"] == "model_not_found"
        assert "[general] passthrough = true in gateway.toml" in body["error"]["message"]

        team = server.track(
            openai.OpenAI(base_url=server.url + "/v1", api_key="vk-groq-llama-0002", max_retries=0)
        )
        answer = team.chat.completions.create(
            model="groq/llama-3.3-70b", messages=[{"role": "user", "content": "hi"}]
        )
        assert answer.choices
        with pytest.raises(openai.PermissionDeniedError):
            team.chat.completions.create(
                model="groq/mixtral-8x7b", messages=[{"role": "user", "content": "hi"}]
            )
    assert [r.headers["authorization"] for r in upstream.requests] == ["Bearer gsk-alias-0001"]
