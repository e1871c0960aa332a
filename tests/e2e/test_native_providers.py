"""Native providers end to end: the openai SDK talks to the real server, the server
talks each provider's own wire format to a fake upstream replaying recorded payloads."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from literllm import Proxy
from literllm.testing import FakeUpstream, Reply, StreamReply
from tests.core.providers.native_checks import converse_stream_bytes
from tests.support.configs import MASTER, config
from tests.support.openapi import validate
from tests.support.server import ServerThread

DATA = Path(__file__).resolve().parents[1] / "data"

MODELS = """
[[models]]
name = "claude"
provider_model = "anthropic/claude-sonnet-4-5"
api_key = "sk-ant-test"
base_url = "https://anthropic.test/v1"

[[models]]
name = "gemini"
provider_model = "gemini/gemini-2.0-flash"
api_key = "gm-test"
base_url = "https://gemini.test/v1beta"

[[models]]
name = "cohere"
provider_model = "cohere/command-a-03-2025"
api_key = "co-test"
base_url = "https://cohere.test/v2"

[[models]]
name = "azure"
provider_model = "azure/my-gpt4o"
api_key = "az-test"
base_url = "https://res.openai.azure.com"

[[models]]
name = "bedrock"
provider_model = "bedrock/anthropic.claude-3-haiku-20240307-v1:0"
api_key = "AKIDEXAMPLE:wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
base_url = "https://bedrock-runtime.us-east-1.amazonaws.com"
"""


def recorded(provider: str, name: str) -> bytes:
    return (DATA / provider / name).read_bytes()


@pytest.fixture
def upstream() -> FakeUpstream:
    return FakeUpstream()


@pytest.fixture
def client(upstream: FakeUpstream) -> Iterator[openai.OpenAI]:
    proxy = Proxy.from_config(config(MODELS), transport=upstream, environ={})
    with ServerThread(proxy) as server:
        yield server.track(
            openai.OpenAI(base_url=server.url + "/v1", api_key=MASTER, max_retries=0, timeout=10)
        )


CHAT_CASES = [
    ("claude", "anthropic", "messages_response.json", "https://anthropic.test/v1/messages"),
    (
        "gemini",
        "gemini",
        "generate_content_response.json",
        "https://gemini.test/v1beta/models/gemini-2.0-flash:generateContent",
    ),
    ("cohere", "cohere", "chat_response.json", "https://cohere.test/v2/chat"),
    (
        "azure",
        "azure",
        "chat_response.json",
        "https://res.openai.azure.com/openai/deployments/my-gpt4o/chat/completions",
    ),
    (
        "bedrock",
        "bedrock",
        "converse_response.json",
        "https://bedrock-runtime.us-east-1.amazonaws.com/model/"
        "anthropic.claude-3-haiku-20240307-v1%3A0/converse",
    ),
]


@pytest.mark.parametrize(("model", "provider", "payload", "url"), CHAT_CASES)
def test_chat_through_native_provider(
    client: openai.OpenAI, upstream: FakeUpstream, model: str, provider: str, payload: str, url: str
) -> None:
    upstream.script(Reply(200, body=recorded(provider, payload)))
    raw = client.chat.completions.with_raw_response.create(
        model=model,
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hello"}],
    )
    answer = raw.parse()
    validate(json.loads(raw.content), "CreateChatCompletionResponse")
    assert answer.choices[0].finish_reason in ("stop", "tool_calls")
    assert answer.usage is not None and answer.usage.prompt_tokens > 0
    assert upstream.requests[0].url.split("?")[0] == url
    assert raw.headers["x-literllm-provider-model"].startswith(provider)


STREAM_CASES = [
    ("claude", StreamReply([recorded("anthropic", "stream_text.sse")], done=False)),
    ("gemini", StreamReply([recorded("gemini", "stream_text.sse")], done=False)),
    ("cohere", StreamReply([recorded("cohere", "stream_text.sse")], done=False)),
    ("azure", StreamReply([recorded("azure", "stream.sse")], done=False)),
    (
        "bedrock",
        StreamReply(
            [converse_stream_bytes(json.loads(recorded("bedrock", "converse_stream_events.json")))],
            done=False,
            headers={"content-type": "application/vnd.amazon.eventstream"},
        ),
    ),
]


@pytest.mark.parametrize(("model", "reply"), STREAM_CASES)
def test_stream_through_native_provider(
    client: openai.OpenAI, upstream: FakeUpstream, model: str, reply: StreamReply
) -> None:
    upstream.script(reply)
    chunks = list(
        client.chat.completions.create(
            model=model,
            stream=True,
            stream_options={"include_usage": True},
            messages=[{"role": "user", "content": "hello"}],
        )
    )
    text = "".join((c.choices[0].delta.content or "") for c in chunks if c.choices)
    assert text
    assert chunks[-1].usage is not None and chunks[-1].choices == []
    for chunk in chunks:
        validate(
            chunk.model_dump(mode="json", exclude_unset=True), "CreateChatCompletionStreamResponse"
        )


def test_anthropic_overload_falls_back_to_another_provider(upstream: FakeUpstream) -> None:
    toml = MODELS.replace(
        'base_url = "https://anthropic.test/v1"',
        'base_url = "https://anthropic.test/v1"\nfallbacks = ["gemini"]',
    )
    upstream.script(
        *[Reply(529, body=recorded("anthropic", "error_overloaded.json"))] * 4, url="anthropic.test"
    )
    upstream.script(
        Reply(200, body=recorded("gemini", "generate_content_response.json")), url="gemini.test"
    )
    proxy = Proxy.from_config(config(toml), transport=upstream, environ={})
    with ServerThread(proxy) as server:
        sdk = server.track(
            openai.OpenAI(base_url=server.url + "/v1", api_key=MASTER, max_retries=0)
        )
        raw = sdk.chat.completions.with_raw_response.create(
            model="claude", messages=[{"role": "user", "content": "hi"}]
        )
    assert raw.headers["x-literllm-route"] == "gemini#2"
    assert raw.parse().choices[0].message.content


def test_native_embeddings_come_back_in_base64_for_the_sdk(
    client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    upstream.script(Reply(200, body=recorded("cohere", "embed_response.json")))
    result = client.embeddings.create(model="cohere", input=["hello"])
    assert result.data and all(isinstance(v, float) for v in result.data[0].embedding)
