"""`/v1/completions` with the official openai SDK, llama-index and litellm against the
real server: natively (the mock serves `/completions`) and through chat (an
OpenAI-compatible chat model, answered by the fake upstream)."""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterator

import httpx
import openai
import pytest

from literllm import Proxy
from literllm.testing import FakeUpstream, Reply
from tests.support.configs import MASTER, MOCK_POOL, TEAM, config
from tests.support.openapi import validate
from tests.support.server import ServerThread

POOLS = (
    MOCK_POOL
    + """
[[models]]
name = "claude"
provider_model = "anthropic/claude-3-5-haiku-latest"
api_key = "sk-ant-test"
base_url = "https://api.fake-anthropic.test/v1"
"""
)


@pytest.fixture
def upstream() -> FakeUpstream:
    return FakeUpstream()


@pytest.fixture
def server(upstream: FakeUpstream) -> Iterator[ServerThread]:
    proxy = Proxy.from_config(config(POOLS), transport=upstream, environ={})
    with ServerThread(proxy) as running:
        yield running


Client = Callable[..., openai.OpenAI]


@pytest.fixture
def client(server: ServerThread) -> Iterator[Client]:
    """openai clients for the test, closed at its end (no socket left to the GC)."""
    made: list[openai.OpenAI] = []

    def make(key: str = MASTER) -> openai.OpenAI:
        sdk = openai.OpenAI(base_url=server.url + "/v1", api_key=key, max_retries=0, timeout=10)
        made.append(sdk)
        return sdk

    yield make
    for sdk in made:
        sdk.close()


def _final(answer: dict) -> dict:
    # OpenAI streams `finish_reason: null` until the last chunk; its schema says string.
    choices = [{**c, "finish_reason": c.get("finish_reason") or "stop"} for c in answer["choices"]]
    return {**answer, "choices": choices}


@pytest.mark.parametrize(("model", "path"), [("chat", "/completions"), ("upstream", "/chat/")])
def test_completion_native_and_through_chat(
    server: ServerThread, client: Client, upstream: FakeUpstream, model: str, path: str
) -> None:
    with client() as sdk:
        raw = sdk.completions.with_raw_response.create(
            model=model, prompt="hello gateway", max_tokens=20
        )
        answer = raw.parse()
    assert "echo: hello gateway" in answer.choices[0].text
    assert answer.object == "text_completion"
    assert answer.usage is not None and answer.usage.total_tokens > 0
    assert raw.headers["x-request-id"]
    assert raw.headers["x-literllm-route"].startswith(model + "#")
    validate(answer.model_dump(mode="json", exclude_unset=True), "CreateCompletionResponse")
    assert path in upstream.requests[-1].url


def test_completion_through_a_native_chat_provider(
    server: ServerThread, client: Client, upstream: FakeUpstream
) -> None:
    upstream.script(
        Reply(
            200,
            json={
                "id": "msg_01",
                "type": "message",
                "role": "assistant",
                "model": "claude-3-5-haiku-latest",
                "content": [{"type": "text", "text": "Hello from Claude"}],
                "stop_reason": "max_tokens",
                "usage": {"input_tokens": 4, "output_tokens": 3},
            },
        ),
        url="fake-anthropic",
    )
    answer = client().completions.create(model="claude", prompt="Hi", max_tokens=3)
    assert answer.choices[0].text == "Hello from Claude"
    assert answer.choices[0].finish_reason == "length"
    assert answer.usage is not None and answer.usage.total_tokens == 7
    validate(answer.model_dump(mode="json", exclude_unset=True), "CreateCompletionResponse")
    sent = upstream.bodies()[-1]
    assert upstream.requests[-1].url.endswith("/messages")
    assert sent["max_tokens"] == 3


@pytest.mark.parametrize("model", ["chat", "upstream"])
def test_completion_stream(
    server: ServerThread, client: Client, upstream: FakeUpstream, model: str
) -> None:
    chunks = list(
        client().completions.create(
            model=model,
            prompt="one two",
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(c.choices[0].text for c in chunks if c.choices)
    assert text.strip().endswith("echo: one two")
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens > 0
    for chunk in chunks:
        validate(
            _final(chunk.model_dump(mode="json", exclude_unset=True)), "CreateCompletionResponse"
        )


def test_refused_where_chat_cannot_honour_it(server: ServerThread, client: Client) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client().completions.create(model="upstream", prompt="x", echo=True)
    error = caught.value.body
    assert isinstance(error, dict)
    assert error["param"] == "echo" and "openai" in error["message"]
    # the mock serves /completions natively: echo is honoured
    answer = client().completions.create(model="chat", prompt="say", echo=True)
    assert answer.choices[0].text.startswith("say")


def test_key_allowlist_applies(server: ServerThread, client: Client) -> None:
    with pytest.raises(openai.PermissionDeniedError):
        client(TEAM).completions.create(model="upstream", prompt="x")
    with pytest.raises(openai.AuthenticationError):
        client("sk-wrong").completions.create(model="chat", prompt="x")


# the libraries keep their own HTTP clients: collect them here, not in a later test
@pytest.mark.filterwarnings(
    "ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning"
)
def test_llama_index_openai_like_complete(server: ServerThread) -> None:
    openai_like = pytest.importorskip("llama_index.llms.openai_like")
    llm = openai_like.OpenAILike(
        model="upstream", api_base=server.url + "/v1", api_key=MASTER, max_retries=0
    )
    assert llm.complete("hello llama").text == "echo: hello llama"
    streamed = "".join(r.delta or "" for r in llm.stream_complete("hello stream"))
    assert streamed == "echo: hello stream"
    del llm
    gc.collect()


# litellm warns about its own pydantic models and deprecations when imported
@pytest.mark.filterwarnings(
    "ignore::UserWarning",
    "ignore::DeprecationWarning",
    "ignore::ResourceWarning",
    "ignore::pytest.PytestUnraisableExceptionWarning",
)
def test_litellm_text_completion(server: ServerThread) -> None:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    litellm = pytest.importorskip("litellm")
    answer = litellm.text_completion(
        model="text-completion-openai/upstream",
        prompt="hello litellm",
        api_base=server.url + "/v1",
        api_key=MASTER,
        max_tokens=20,
    )
    assert answer.choices[0].text == "echo: hello litellm"
    gc.collect()


def test_metrics_count_requests_by_operation(server: ServerThread, client: Client) -> None:
    client().completions.create(model="chat", prompt="x")
    with pytest.raises(openai.BadRequestError):
        client().completions.create(model="upstream", prompt="x", suffix="y")
    metrics = httpx.get(
        server.url + "/metrics", headers={"authorization": f"Bearer {MASTER}"}, timeout=10
    ).text
    assert 'literllm_operation_requests_total{operation="text_completion",status="200"} 1.0' in (
        metrics
    )
    assert 'literllm_operation_requests_total{operation="text_completion",status="400"} 1.0' in (
        metrics
    )
