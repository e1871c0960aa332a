"""The endpoints besides chat through `Proxy`: routing, fallbacks, refusals, cost, cache."""

from __future__ import annotations

import msgspec
import pytest

from literllm import (
    BadRequestError,
    BudgetExceededError,
    ChatStream,
    PermissionDeniedError,
    Pricing,
    Proxy,
    RateLimitError,
    Response,
)
from literllm.testing import FakeClock, FakeUpstream, Reply
from tests.support.configs import MASTER, TEAM, config

MODELS = """
[general]
master_key = "sk-master-test-0001"
enable_cost_tracking = true
max_retries = 0

[[models]]
name = "instruct"
provider_model = "openai/gpt-3.5-turbo-instruct"
api_key = "sk-up"
base_url = "https://primary.test/v1"
fallbacks = ["mock"]

[[models]]
name = "mock"
provider_model = "mock/echo"

[[models]]
name = "claude"
provider_model = "anthropic/claude-3-5-haiku-latest"
api_key = "sk-ant"

[[models]]
name = "rerank"
provider_model = "cohere/rerank-v3.5"
api_key = "sk-co"
base_url = "https://cohere.test/v2"

[[models]]
name = "omni-moderation-latest"
provider_model = "mock/omni"

[[keys]]
key = "vk-team-test-0002"
description = "team"
models = ["mock"]

[cache]
backend = "memory"
max_entries = 100
"""


def make(upstream: FakeUpstream | None = None) -> Proxy:
    return Proxy.from_config(
        config(MODELS), transport=upstream or FakeUpstream(), clock=FakeClock(), environ={}
    )


async def test_completion_falls_back_and_is_priced_by_tokens() -> None:
    upstream = FakeUpstream()
    upstream.script(Reply(503, json={"error": {"message": "busy"}}), url="primary.test")
    async with make(upstream) as proxy:
        answer = await proxy.completions(
            {"model": "instruct", "prompt": "hello", "max_tokens": 5}, api_key=MASTER
        )
    assert isinstance(answer, Response)
    assert answer.json()["object"] == "text_completion"
    assert answer.headers["x-literllm-route"].startswith("mock#")
    assert [r.url for r in upstream.requests] == [
        "https://primary.test/v1/completions",
        "mock://local/v1/completions",
    ]


async def test_completion_cost_uses_the_token_prices() -> None:
    upstream = FakeUpstream()
    upstream.script(
        Reply(
            200,
            json={
                "id": "cmpl-1",
                "object": "text_completion",
                "created": 1,
                "model": "gpt-3.5-turbo-instruct",
                "choices": [{"text": "x", "index": 0, "logprobs": None, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 1000, "completion_tokens": 1000, "total_tokens": 2000},
            },
        ),
        url="primary.test",
    )
    async with make(upstream) as proxy:
        answer = await proxy.completions({"model": "instruct", "prompt": "hello"}, api_key=MASTER)
        price = Pricing.load().price("openai/gpt-3.5-turbo-instruct")
    assert price is not None and price.input > 0
    expected = 1000 * price.input + 1000 * price.output
    assert float(answer.headers["x-literllm-response-cost"]) == pytest.approx(expected)


async def test_completion_stream_through_the_proxy() -> None:
    async with make() as proxy:
        stream = await proxy.completions(
            {"model": "mock", "prompt": "a b", "stream": True}, api_key=MASTER
        )
        assert isinstance(stream, ChatStream)
        chunks = [c async for c in stream.json_chunks()]
    assert all(c["object"] == "text_completion" for c in chunks)
    assert "".join(c["choices"][0]["text"] for c in chunks if c["choices"]).endswith("echo: a b")


async def test_a_provider_without_the_endpoint_answers_400_naming_both() -> None:
    async with make() as proxy:
        with pytest.raises(BadRequestError) as caught:
            await proxy.rerank(
                {"model": "claude", "query": "q", "documents": ["a"]}, api_key=MASTER
            )
        assert caught.value.code == "endpoint_not_supported"
        assert "'anthropic'" in str(caught.value) and "/v1/rerank" in str(caught.value)
        with pytest.raises(BadRequestError) as caught:
            await proxy.moderations({"model": "claude", "input": "x"}, api_key=MASTER)
        assert "/v1/moderations" in str(caught.value)


async def test_key_allowlist_applies_to_operations() -> None:
    async with make() as proxy:
        with pytest.raises(PermissionDeniedError):
            await proxy.moderations({"model": "claude", "input": "x"}, api_key=TEAM)
        answer = await proxy.moderations({"model": "mock", "input": "x"}, api_key=TEAM)
        assert answer.json()["results"][0]["flagged"] is False


async def test_moderation_without_model_routes_to_the_default_name_and_is_cached() -> None:
    upstream = FakeUpstream()
    async with make(upstream) as proxy:
        first = await proxy.moderations({"input": "same text"}, api_key=MASTER)
        second = await proxy.moderations({"input": "same text"}, api_key=MASTER)
    assert first.headers["x-literllm-cache"] == "miss"
    assert second.headers["x-literllm-cache"] == "hit"
    assert first.body == second.body
    assert len(upstream.requests) == 1


async def test_cohere_rerank_gets_its_body_and_is_priced_per_search() -> None:
    upstream = FakeUpstream()
    upstream.script(
        Reply(
            200,
            json={
                "id": "r1",
                "results": [
                    {"index": 1, "relevance_score": 0.9},
                    {"index": 0, "relevance_score": 0.1},
                ],
                "meta": {"billed_units": {"search_units": 1}},
            },
        ),
        url="cohere.test",
    )
    async with make(upstream) as proxy:
        answer = await proxy.rerank(
            {
                "model": "rerank",
                "query": "apple",
                "documents": ["pear", {"text": "apple"}],
                "top_n": 2,
                "return_documents": True,
            },
            api_key=MASTER,
        )
        per_query = Pricing.load().unit_price("cohere/rerank-v3.5", "query")
    sent = msgspec.json.decode(upstream.requests[0].body)
    assert upstream.requests[0].url == "https://cohere.test/v2/rerank"
    assert sent == {
        "model": "rerank-v3.5",
        "query": "apple",
        "documents": ["pear", "apple"],
        "top_n": 2,
    }
    results = answer.json()["results"]
    assert results[0] == {"index": 1, "relevance_score": 0.9, "document": {"text": "apple"}}
    assert per_query is not None
    assert float(answer.headers["x-literllm-response-cost"]) == pytest.approx(per_query)


async def test_voyage_rerank_is_renamed_both_ways() -> None:
    toml = (
        MODELS
        + '\n[[models]]\nname = "voyage"\nprovider_model = "voyage/rerank-2"\napi_key = "v"\n'
    )
    upstream = FakeUpstream()
    upstream.script(
        Reply(
            200,
            json={
                "object": "list",
                "data": [{"index": 0, "relevance_score": 0.5, "document": "a"}],
                "model": "rerank-2",
                "usage": {"total_tokens": 10},
            },
        )
    )
    async with Proxy.from_config(
        config(toml), transport=upstream, clock=FakeClock(), environ={}
    ) as proxy:
        answer = await proxy.rerank(
            {"model": "voyage", "query": "q", "documents": ["a"], "top_n": 1}, api_key=MASTER
        )
    sent = msgspec.json.decode(upstream.requests[0].body)
    assert sent["top_k"] == 1 and "top_n" not in sent
    assert answer.json()["results"] == [{"index": 0, "relevance_score": 0.5}]


IMAGES = """
[general]
master_key = "sk-master-test-0001"
enable_cost_tracking = true

[[models]]
name = "image"
provider_model = "openai/gpt-image-1"
api_key = "sk-up"
base_url = "https://images.test/v1"

[[models]]
name = "tts"
provider_model = "openai/tts-1"
api_key = "sk-up"
base_url = "https://audio.test/v1"

[[keys]]
key = "vk-small-budget-01"
description = "small"
budget_limit = 0.015
"""


async def test_images_are_priced_per_image_and_held_against_budgets() -> None:
    upstream = FakeUpstream()
    upstream.script(Reply(200, json={"created": 1, "data": [{"b64_json": "AA=="}]}))
    async with Proxy.from_config(
        config(IMAGES), transport=upstream, clock=FakeClock(), environ={}
    ) as proxy:
        one = await proxy.images_generate(
            {"model": "image", "prompt": "x", "size": "1024x1024", "quality": "low"},
            api_key="vk-small-budget-01",
        )
        assert float(one.headers["x-literllm-response-cost"]) == pytest.approx(0.011)
        # two more images would cross the key's $0.015: refused before any upstream call
        with pytest.raises(BudgetExceededError):
            await proxy.images_generate(
                {"model": "image", "prompt": "x", "n": 2, "size": "1024x1024", "quality": "low"},
                api_key="vk-small-budget-01",
            )
    assert len(upstream.requests) == 1


async def test_speech_is_priced_per_character() -> None:
    async with Proxy.from_config(
        config(IMAGES), transport=FakeUpstream(), clock=FakeClock(), environ={}
    ) as proxy:
        stream = await proxy.audio_speech(
            {"model": "tts", "input": "x" * 100, "voice": "alloy", "response_format": "wav"},
            api_key=MASTER,
        )
        audio = b"".join([chunk async for chunk in stream])
        spend = await proxy.admin.spend(api_key=MASTER)
    assert audio.startswith(b"RIFF")
    assert spend.master.spend == pytest.approx(100 * 1.5e-5)


async def test_rate_limits_apply_to_operations() -> None:
    toml = MODELS.replace(
        'models = ["mock"]', 'models = ["mock", "omni-moderation-latest"]\nrpm = 1'
    )
    async with Proxy.from_config(
        config(toml), transport=FakeUpstream(), clock=FakeClock(), environ={}
    ) as proxy:
        await proxy.rerank({"model": "mock", "query": "q", "documents": ["a"]}, api_key=TEAM)
        with pytest.raises(RateLimitError) as caught:
            await proxy.moderations({"input": "x"}, api_key=TEAM)
    assert caught.value.headers["retry-after"]
