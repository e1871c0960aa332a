"""`proxy.responses` to an OpenAI deployment, in-process: passed natively, with the same
journey as every request (fallbacks that translate, usage and cost from the Responses
`usage`, limits, budgets, hooks) and the gateway's own per-key store."""

from __future__ import annotations

import json
from typing import Any

import pytest

from literllm import BudgetExceededError, ChatStream, Proxy, Response
from literllm.errors import NotFoundError
from literllm.hooks import Hook, RequestContext
from literllm.outcome import Outcome
from literllm.testing import FakeClock, FakeUpstream, Reply, StreamReply
from literllm.types import Usage
from tests.core.providers.native_checks import load_bytes, load_json
from tests.support.configs import MASTER, config

TEAM = "vk-native-team-0001"
OTHER = "vk-native-other-0002"
POOR = "vk-native-poor-0003"

TOML = f"""
[general]
master_key = "{MASTER}"
enable_cost_tracking = true
max_retries = 0

[[models]]
name = "gpt"
provider_model = "openai/gpt-4o"
api_key = "sk-openai-one"
base_url = "https://openai.test/v1"
fallbacks = ["claude"]

[[models]]
name = "gpt-elsewhere"
provider_model = "openai/gpt-4o"
api_key = "sk-openai-two"
base_url = "https://openai-two.test/v1"

[[models]]
name = "claude"
provider_model = "anthropic/claude-sonnet-4-5"
api_key = "sk-ant-upstream"
base_url = "https://anthropic.test/v1"

[[keys]]
key = "{TEAM}"

[[keys]]
key = "{OTHER}"

[[keys]]
key = "{POOR}"
budget_limit = 0.0
"""


def _proxy(upstream: FakeUpstream, hooks: tuple[object, ...] = ()) -> Proxy:
    return Proxy.from_config(
        config(TOML), transport=upstream, clock=FakeClock(), environ={}, hooks=hooks
    )


def recorded() -> bytes:
    return load_bytes("openai", "responses_response.json")


async def test_json_passes_through_with_usage_and_cost() -> None:
    upstream = FakeUpstream()
    upstream.script(Reply(200, body=recorded()))
    outcome = Outcome(0.0)
    async with _proxy(upstream) as proxy:
        answer = await proxy.responses.create(
            {"model": "gpt", "input": "tell me a story", "store": True},
            api_key=TEAM,
            outcome=outcome,
        )
        assert isinstance(answer, Response)
        stored = await proxy.responses.retrieve(answer.json()["id"], api_key=TEAM)
    assert answer.body == recorded()  # byte for byte
    assert upstream.requests[0].url == "https://openai.test/v1/responses"
    assert json.loads(upstream.requests[0].body) == {
        "model": "gpt-4o",
        "input": "tell me a story",
        "store": True,
    }
    assert outcome.usage == Usage(
        prompt_tokens=36, completion_tokens=87, total_tokens=123, cached_tokens=20,
        reasoning_tokens=12,
    )  # fmt: skip
    assert outcome.cost is not None and outcome.cost > 0
    assert float(answer.headers["x-literllm-response-cost"]) == pytest.approx(outcome.cost)
    assert stored.id == load_json("openai", "responses_response.json")["id"]


async def test_stream_is_relayed_unchanged_and_stored() -> None:
    upstream = FakeUpstream()
    data = load_bytes("openai", "responses_stream.sse")
    upstream.script(StreamReply([data[:100], data[100:2000], data[2000:]], done=False))
    outcome = Outcome(0.0)
    async with _proxy(upstream) as proxy:
        stream = await proxy.responses.create(
            {"model": "gpt", "input": "hi", "stream": True}, api_key=TEAM, outcome=outcome
        )
        assert isinstance(stream, ChatStream)
        events = [event async for event in stream]
        stored = await proxy.responses.retrieve(
            "resp_67c9fdcecf488190bdd9a0409de3a1ec07b8b0ad4e5eb654", api_key=TEAM
        )
    assert b"".join(events) == data
    assert json.loads(upstream.requests[0].body)["stream"] is True
    assert outcome.usage is not None and outcome.usage.prompt_tokens == 37
    assert stored.status == "completed"


async def test_a_failing_openai_deployment_falls_back_to_a_translated_one() -> None:
    upstream = FakeUpstream()
    upstream.script(Reply(503, json={"error": {"message": "overloaded"}}), url="openai.test")
    upstream.script(
        Reply(200, body=load_bytes("anthropic", "messages_response.json")), url="anthropic.test"
    )
    async with _proxy(upstream) as proxy:
        answer = await proxy.responses.create(
            {"model": "gpt", "input": "hello", "instructions": "Be brief."}, api_key=TEAM
        )
    assert isinstance(answer, Response)
    assert answer.headers["x-literllm-route"].startswith("claude")
    body = answer.json()
    assert body["id"].startswith("resp_") and body["object"] == "response"
    sent = json.loads(upstream.requests[-1].body)
    assert upstream.requests[-1].url == "https://anthropic.test/v1/messages"
    assert sent["system"] == [{"type": "text", "text": "Be brief."}]


async def test_a_fallback_that_cannot_translate_is_a_400() -> None:
    upstream = FakeUpstream()
    upstream.script(Reply(503, json={"error": {"message": "overloaded"}}), url="openai.test")
    async with _proxy(upstream) as proxy:
        with pytest.raises(Exception) as caught:
            await proxy.responses.create(
                {"model": "gpt", "input": "news?", "tools": [{"type": "web_search"}]},
                api_key=TEAM,
            )
    assert getattr(caught.value, "code", None) == "not_translatable"
    assert [r.url for r in upstream.requests] == ["https://openai.test/v1/responses"]


async def test_budgets_apply() -> None:
    upstream = FakeUpstream()
    upstream.script(Reply(200, body=recorded()))
    async with _proxy(upstream) as proxy:
        with pytest.raises(BudgetExceededError):
            await proxy.responses.create({"model": "gpt", "input": "hi"}, api_key=POOR)
    assert upstream.requests == []


class Redact(Hook):
    """Changes the request in place and the answer's text."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []

    async def before_request(self, ctx: RequestContext) -> None:
        self.seen.append(json.loads(json.dumps(ctx.body)))
        for item in ctx.body["input"]:
            if isinstance(item, dict) and isinstance(item.get("content"), str):
                item["content"] = item["content"].replace("secret", "[x]")

    async def after_response(self, ctx: RequestContext, body: dict[str, Any]) -> None:
        for item in body["output"]:
            for part in item.get("content") or ():
                part["text"] = part["text"].replace("Lumina", "[name]")


async def test_hooks_see_the_conversation_and_change_what_goes_upstream() -> None:
    upstream = FakeUpstream()
    hook = Redact()
    async with _proxy(upstream, hooks=(hook,)) as proxy:
        upstream.script(Reply(200, body=recorded()))
        first = await proxy.responses.create(
            {"model": "gpt", "input": [{"role": "user", "content": "my secret"}]}, api_key=TEAM
        )
        assert isinstance(first, Response)
        assert "[name]" in first.json()["output"][0]["content"][0]["text"]
        first_id = first.json()["id"]
        stored = await proxy.responses.retrieve(first_id, api_key=TEAM)
        # a second turn to another credential: the conversation goes as input
        second = await proxy.responses.create(
            {"model": "gpt-elsewhere", "previous_response_id": first_id, "input": "more secret"},
            api_key=TEAM,
        )
        assert isinstance(second, Response)
    assert json.loads(upstream.requests[0].body)["input"] == [{"role": "user", "content": "my [x]"}]
    assert "[name]" in stored.output[0]["content"][0]["text"]  # what the client got
    # the hook saw the whole conversation: the earlier turn, then the new input
    assert [i.get("role") for i in hook.seen[1]["input"]] == ["user", "assistant", "user"]
    sent = json.loads(upstream.requests[1].body)
    assert upstream.requests[1].url == "https://openai-two.test/v1/responses"
    assert "previous_response_id" not in sent
    assert sent["input"][0] == {
        "type": "message",
        "role": "user",
        "content": [{"type": "input_text", "text": "my [x]"}],
    }
    assert sent["input"][1]["role"] == "assistant" and "[name]" in sent["input"][1]["content"]
    assert sent["input"][2] == {"type": "message", "role": "user", "content": "more [x]"}


async def test_an_upstream_id_never_overwrites_a_stored_response() -> None:
    upstream = FakeUpstream()
    upstream.script(Reply(200, body=recorded()), Reply(200, body=recorded()))
    async with _proxy(upstream) as proxy:
        mine = await proxy.responses.create({"model": "gpt", "input": "mine"}, api_key=TEAM)
        assert isinstance(mine, Response)
        # the same upstream id again, now for another key (a hostile or buggy upstream)
        theirs = await proxy.responses.create({"model": "gpt", "input": "theirs"}, api_key=OTHER)
        assert isinstance(theirs, Response)
        response_id = mine.json()["id"]
        assert theirs.json()["id"] == response_id
        with pytest.raises(NotFoundError):
            await proxy.responses.retrieve(response_id, api_key=OTHER)
        items = await proxy.responses.input_items(response_id, api_key=TEAM)
    assert items.data[0]["content"] == [{"type": "input_text", "text": "mine"}]


async def test_previous_response_id_passes_through_to_the_same_credential_only() -> None:
    upstream = FakeUpstream()  # the mock serves OpenAI's Responses API, stored responses too
    async with _proxy(upstream) as proxy:
        first = await proxy.responses.create({"model": "gpt", "input": "one"}, api_key=TEAM)
        assert isinstance(first, Response)
        first_id = first.json()["id"]
        second = await proxy.responses.create(
            {"model": "gpt", "input": "two", "previous_response_id": first_id}, api_key=TEAM
        )
        assert isinstance(second, Response)
        with pytest.raises(NotFoundError):
            await proxy.responses.create(
                {"model": "gpt", "input": "x", "previous_response_id": first_id}, api_key=OTHER
            )
    assert json.loads(upstream.requests[1].body) == {
        "model": "gpt-4o",
        "input": "two",
        "previous_response_id": first_id,
    }
    assert second.json()["output"][0]["content"][0]["text"] == "echo: two"
    assert len(upstream.requests) == 2


async def test_a_native_stream_through_stream_hooks_is_stored_as_sent() -> None:
    """The patterns guardrail rewrites the relayed events; the gateway keeps the final
    Response as the hooks left it, not the upstream's."""
    from tests.core.hooks.test_hook_streams import EMAIL, TEXT, responses_native_events

    upstream = FakeUpstream()
    events = responses_native_events(TEXT, 4)
    upstream.script(StreamReply([b"".join(events)], done=False))
    toml = TOML + '\n[[guardrails]]\ntype = "patterns"\n'
    proxy = Proxy.from_config(config(toml), transport=upstream, clock=FakeClock(), environ={})
    async with proxy:
        stream = await proxy.responses.create(
            {"model": "gpt", "input": "hi", "stream": True}, api_key=TEAM
        )
        assert isinstance(stream, ChatStream)
        sent = b"".join([event async for event in stream])
        stored = await proxy.responses.retrieve("resp_1", api_key=TEAM)
    assert EMAIL.encode() not in sent
    assert EMAIL not in json.dumps(stored.to_dict())
    assert stored.output_text == "write to [EMAIL] or pay [CARD], thanks"
    assert upstream.requests[0].url == "https://openai.test/v1/responses"
