"""Text completions: which providers get them natively, and the chat translation."""

from __future__ import annotations

import msgspec
import pytest

from literllm.errors import BadRequestError
from literllm.operations import Operations
from literllm.operations.completions import TranslatedStreamDecoder, chat_body, text_completion
from literllm.pricing import Pricing
from literllm.providers import ProviderRegistry, Target
from literllm.transport.mock import chat_chunks, chat_completion
from tests.support.openapi import validate


@pytest.fixture(scope="module")
def operations() -> Operations:
    return Operations(ProviderRegistry(), Pricing({}))


def _target(provider: str, model: str) -> Target:
    return Target(provider=provider, model=model, base_url="https://up.example/v1", api_key="k")


@pytest.mark.parametrize(
    ("provider", "model", "path"),
    [
        ("openai", "gpt-3.5-turbo-instruct", "/v1/completions"),
        ("openai", "gpt-4o", "/v1/chat/completions"),
        ("together_ai", "meta-llama/Llama-3-8b", "/v1/completions"),
        ("vllm", "any", "/v1/completions"),
        ("groq", "llama-3.1-8b-instant", "/v1/chat/completions"),
        ("mock", "echo", "/v1/completions"),
    ],
)
def test_native_where_served_else_through_chat(
    operations: Operations, provider: str, model: str, path: str
) -> None:
    registry = ProviderRegistry()
    request = operations.completions.request(
        registry.adapter(provider),
        _target(provider, model),
        {"model": "alias", "prompt": "Say hi", "max_tokens": 5},
        stream=False,
    )
    assert request.url == "https://up.example" + path
    sent = msgspec.json.decode(request.body)
    assert sent["model"] == model
    if path.endswith("/chat/completions"):
        assert sent["messages"] == [{"role": "user", "content": "Say hi"}]
        assert "prompt" not in sent
    else:
        assert sent["prompt"] == "Say hi"


def test_anthropic_gets_its_own_messages_request(operations: Operations) -> None:
    registry = ProviderRegistry()
    request = operations.completions.request(
        registry.adapter("anthropic"),
        Target(provider="anthropic", model="claude-3-5-haiku", base_url="https://a.example/v1"),
        {"model": "m", "prompt": "Hello", "max_tokens": 7},
        stream=False,
    )
    assert request.url.endswith("/messages")
    assert msgspec.json.decode(request.body)["messages"][0]["content"] in (
        "Hello",
        [{"type": "text", "text": "Hello"}],
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("echo", True),
        ("logprobs", 2),
        ("suffix", "end"),
        ("best_of", 3),
        ("prompt", ["one", "two"]),
        ("prompt", [1, 2, 3]),
    ],
)
def test_what_chat_cannot_honour_is_refused_naming_the_provider(field: str, value: object) -> None:
    body = {"model": "m", "prompt": "x", field: value}
    with pytest.raises(BadRequestError) as caught:
        chat_body("groq", body)
    assert caught.value.status == 400
    assert caught.value.param == field
    assert "groq" in str(caught.value)


def test_shared_parameters_carry_over() -> None:
    chat = chat_body(
        "groq",
        {
            "model": "m",
            "prompt": ["only one"],
            "max_tokens": 3,
            "temperature": 0.2,
            "stop": ["\n"],
            "n": 2,
            "echo": False,
            "best_of": 1,
        },
    )
    assert chat == {
        "model": "m",
        "messages": [{"role": "user", "content": "only one"}],
        "max_tokens": 3,
        "temperature": 0.2,
        "stop": ["\n"],
        "n": 2,
    }


def test_a_chat_answer_becomes_a_valid_text_completion() -> None:
    chat = chat_completion({"model": "m", "messages": [{"role": "user", "content": "hi"}]})
    answer = text_completion(chat)
    validate(answer, "CreateCompletionResponse")
    assert answer["object"] == "text_completion"
    assert answer["choices"][0]["text"] == "echo: hi"
    assert answer["usage"]["total_tokens"] == chat["usage"]["total_tokens"]


def test_tool_calls_finish_maps_into_the_completion_enum() -> None:
    chat = {
        "id": "x",
        "created": 1,
        "model": "m",
        "choices": [{"index": 0, "message": {"content": None}, "finish_reason": "tool_calls"}],
    }
    answer = text_completion(chat)
    assert answer["choices"][0] == {
        "text": "",
        "index": 0,
        "logprobs": None,
        "finish_reason": "stop",
    }


def test_translated_stream_yields_completion_chunks_and_keeps_usage() -> None:
    registry = ProviderRegistry()
    adapter = registry.adapter("groq")
    target = _target("groq", "llama")
    body = {
        "model": "m",
        "messages": [{"role": "user", "content": "one two"}],
        "stream_options": {"include_usage": True},
    }
    sse = b"".join(b"data: " + msgspec.json.encode(c) + b"\n\n" for c in chat_chunks(body))
    decoder = TranslatedStreamDecoder(adapter.stream_decoder(target, include_usage=True))
    chunks = [msgspec.json.decode(c) for c in decoder.feed(sse + b"data: [DONE]\n\n")]
    chunks += [msgspec.json.decode(c) for c in decoder.close()]
    for chunk in chunks:
        # OpenAI's own streams send `finish_reason: null` until the end; its schema
        # does not allow null, so that one field is checked apart.
        final = {
            **chunk,
            "choices": [
                {**c, "finish_reason": c["finish_reason"] or "stop"} for c in chunk["choices"]
            ],
        }
        validate(final, "CreateCompletionResponse")
    text = "".join(c["choices"][0]["text"] for c in chunks if c["choices"])
    assert text == "echo: one two"
    assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]][-1] == "stop"
    assert chunks[-1]["usage"]["total_tokens"] > 0
    assert decoder.usage is not None and decoder.usage.total_tokens > 0


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "m"}, "prompt"),
        ({"model": "m", "prompt": ""}, "prompt"),
        ({"model": "", "prompt": "x"}, "model"),
        ({"model": "m", "prompt": "x", "n": 0}, "n"),
        ({"model": "m", "prompt": {"a": 1}}, "prompt"),
        ({"model": "m", "prompt": "x", "max_tokens": "ten"}, "max_tokens"),
    ],
)
def test_validation_names_the_field(operations: Operations, body: dict, param: str) -> None:
    with pytest.raises(BadRequestError) as caught:
        operations.completions.validate(dict(body))
    assert caught.value.param == param
