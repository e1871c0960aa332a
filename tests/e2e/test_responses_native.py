"""`/v1/responses` passed natively to an OpenAI upstream: the official openai SDK
against a real `liter-llm api` process whose `openai/...` deployment points at the mock
OpenAI server on 127.0.0.1 (which serves the Responses API as documented, stored
responses included). The upstream must receive the Responses body itself, never a
chat completion; outputs are validated against OpenAI's Responses schemas."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from tests.support.configs import MASTER
from tests.support.mockopenai import MockOpenAIServer
from tests.support.process import Gateway, Gateways, gateways_fixture  # noqa: F401
from tests.support.responses_schema import validate_responses

TEAM_A = "vk-native-team-a-0001"
TEAM_B = "vk-native-team-b-0002"
TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather now",
    "parameters": {
        "type": "object",
        "properties": {"location": {"type": "string"}},
        "required": ["location"],
    },
    "strict": False,
}


@pytest.fixture
def upstream() -> Iterator[MockOpenAIServer]:
    with MockOpenAIServer() as server:
        yield server


@pytest.fixture
def gateway(gateways: Gateways, upstream: MockOpenAIServer) -> Gateway:
    return gateways.start(
        f"""
[server]
host = "127.0.0.1"

[general]
master_key = "{MASTER}"
max_retries = 0

[[models]]
name = "gpt"
provider_model = "openai/gpt-4o"
api_key = "sk-upstream-native-0001"
base_url = "{upstream.base_url}"

[[models]]
name = "compat"
provider_model = "openrouter/openai/gpt-4o"
api_key = "sk-upstream-compat-0002"
base_url = "{upstream.base_url}"

[[keys]]
key = "{TEAM_A}"

[[keys]]
key = "{TEAM_B}"
"""
    )


def sdk(gateway: Gateway, key: str = TEAM_A) -> openai.OpenAI:
    return gateway.track(
        openai.OpenAI(base_url=gateway.url + "/v1", api_key=key, max_retries=0, timeout=20)
    )


def wire(response: Any) -> dict[str, Any]:
    """An SDK object as it was on the wire (without the SDK's parsing helpers)."""
    dumped: dict[str, Any] = response.model_dump(mode="json", exclude_unset=True, warnings=False)
    return dumped


def test_create_goes_upstream_natively(gateway: Gateway, upstream: MockOpenAIServer) -> None:
    raw = sdk(gateway).responses.with_raw_response.create(
        model="gpt",
        instructions="Be brief.",
        input="hello there",
        max_output_tokens=64,
        include=["reasoning.encrypted_content"],
        truncation="auto",
    )
    body = json.loads(raw.content)
    validate_responses(body, "Response")
    assert raw.headers["x-literllm-provider-model"] == "openai/gpt-4o"
    response = raw.parse()
    assert response.output_text == "echo: hello there"
    assert response.model == "gpt-4o"  # the upstream's, as sent
    [received] = upstream.requests
    assert received.path == "/v1/responses"
    assert received.headers["Authorization"] == "Bearer sk-upstream-native-0001"
    # the client's body, model rewritten: fields chat completions cannot carry survive
    assert received.body == {
        "model": "gpt-4o",
        "instructions": "Be brief.",
        "input": "hello there",
        "max_output_tokens": 64,
        "include": ["reasoning.encrypted_content"],
        "truncation": "auto",
    }
    # the gateway stored it under the upstream's id, for this key only
    stored = sdk(gateway).responses.with_raw_response.retrieve(response.id)
    validate_responses(json.loads(stored.content), "Response")
    assert json.loads(stored.content) == body


def test_stream_is_relayed_event_by_event(gateway: Gateway, upstream: MockOpenAIServer) -> None:
    client = sdk(gateway)
    events = []
    with client.responses.stream(
        model="gpt",
        input="Weather in Paris?",
        tools=[TOOL],  # type: ignore[list-item]
    ) as stream:
        for event in stream:
            events.append(event)
        final = stream.get_final_response()
    assert upstream.requests[0].path == "/v1/responses"
    assert upstream.requests[0].body["stream"] is True
    assert "messages" not in upstream.requests[0].body
    kinds = [e.type for e in events]
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert kinds[-1] == "response.completed"
    assert "response.function_call_arguments.delta" in kinds
    assert [e.sequence_number for e in events] == list(range(len(events)))
    for event in events:
        validate_responses(wire(event), "ResponseStreamEvent")
    [call] = [item for item in final.output if item.type == "function_call"]
    assert json.loads(call.arguments) == {"location": ""}
    stored = json.loads(client.responses.with_raw_response.retrieve(final.id).content)
    completed = wire(events[-1])["response"]
    for item in completed["output"]:
        item.pop("parsed_arguments", None)
    assert stored == completed


def test_previous_response_id_chain_passes_through(
    gateway: Gateway, upstream: MockOpenAIServer
) -> None:
    client = sdk(gateway)
    first = client.responses.create(model="gpt", input="What is the weather?", tools=[TOOL])  # type: ignore[list-item]
    [call] = [item for item in first.output if item.type == "function_call"]
    second = client.responses.create(
        model="gpt",
        previous_response_id=first.id,
        tools=[TOOL],  # type: ignore[list-item]
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "15C"}],
    )
    with client.responses.stream(
        model="gpt", previous_response_id=second.id, input="Thanks. And tomorrow?"
    ) as stream:
        third = stream.get_final_response()
    assert third.output_text == "echo: Thanks. And tomorrow?"
    # the upstream stored each turn itself: it got the id, not the conversation again
    sent = [r.body for r in upstream.requests]
    assert sent[1]["previous_response_id"] == first.id
    assert sent[1]["input"] == [
        {"type": "function_call_output", "call_id": call.call_id, "output": "15C"}
    ]
    assert sent[2]["previous_response_id"] == second.id
    assert sent[2]["input"] == "Thanks. And tomorrow?"
    assert second.output_text == "echo: 15C"
    # the gateway's own record of the conversation
    items = client.responses.input_items.list(third.id)
    validate_responses(
        {**wire(items), "first_id": items.first_id, "last_id": items.last_id},
        "ResponseItemList",
    )
    assert [i.type for i in items.data] == [  # newest first: earlier outputs included
        "message",
        "message",
        "function_call_output",
        "function_call",
        "message",
    ]
    client.responses.delete(third.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(third.id)


def test_a_key_never_reaches_another_keys_native_response(
    gateway: Gateway, upstream: MockOpenAIServer
) -> None:
    mine = sdk(gateway, TEAM_A).responses.create(model="gpt", input="secret plans")
    other = sdk(gateway, TEAM_B)
    with pytest.raises(openai.NotFoundError):
        other.responses.retrieve(mine.id)
    with pytest.raises(openai.NotFoundError):
        other.responses.input_items.list(mine.id)
    with pytest.raises(openai.NotFoundError):
        other.responses.delete(mine.id)
    # the upstream id is never passed on for another key (the upstream would accept it)
    with pytest.raises(openai.NotFoundError):
        other.responses.create(model="gpt", previous_response_id=mine.id, input="continue")
    with pytest.raises(openai.BadRequestError) as refused:
        other.responses.create(
            model="gpt",
            input=[{"type": "item_reference", "id": mine.output[0].id}],  # type: ignore[list-item]
        )
    assert refused.value.code == "not_translatable"
    assert len(upstream.requests) == 1
    assert sdk(gateway, TEAM_A).responses.retrieve(mine.id).output_text == "echo: secret plans"
    assert sdk(gateway, MASTER).responses.retrieve(mine.id).id == mine.id


def test_a_chain_crosses_between_native_and_translated(
    gateway: Gateway, upstream: MockOpenAIServer
) -> None:
    client = sdk(gateway)
    translated = client.responses.create(model="compat", input="first question")
    assert upstream.requests[-1].path == "/v1/chat/completions"
    native = client.responses.create(
        model="gpt", previous_response_id=translated.id, input="second question"
    )
    sent = upstream.requests[-1]
    assert sent.path == "/v1/responses"
    # the upstream never saw the first turn: the conversation goes as input
    assert "previous_response_id" not in sent.body
    first = [{"type": "input_text", "text": "first question"}]
    assert sent.body["input"] == [
        {"type": "message", "role": "user", "content": first},
        {"type": "message", "role": "assistant", "content": "echo: first question"},
        {"type": "message", "role": "user", "content": "second question"},
    ]  # fmt: skip
    assert native.output_text == "echo: second question"
    back = client.responses.create(
        model="compat", previous_response_id=native.id, input="third question"
    )
    messages = upstream.requests[-1].body["messages"]
    assert upstream.requests[-1].path == "/v1/chat/completions"
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant", "user"]
    assert messages[3]["content"] == "echo: second question"
    assert back.previous_response_id == native.id
