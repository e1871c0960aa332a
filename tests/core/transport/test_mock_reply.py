"""The mock provider's chat rules: which tool it calls, when it answers in text, and
structured output, in whole answers and in streams."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from literllm import Proxy
from literllm.testing import FakeUpstream
from literllm.transport.mock import chat_chunks, chat_completion
from tests.support.configs import MASTER, config

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "minLength": 1},
                "unit": {"enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city", "unit"],
            "additionalProperties": False,
        },
    },
}
TIME = {
    "type": "function",
    "function": {
        "name": "get_time",
        "parameters": {
            "type": "object",
            "properties": {"zone": {"type": "string", "format": "date"}},
            "required": ["zone"],
        },
    },
}
BARE = {"type": "function", "function": {"name": "ping"}}


def ask(text: str, **extra: Any) -> dict[str, Any]:
    return {"model": "mock/x", "messages": [{"role": "user", "content": text}], **extra}


def answer(body: dict[str, Any]) -> dict[str, Any]:
    message: dict[str, Any] = chat_completion(body)["choices"][0]["message"]
    return message


def called(body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    choice = chat_completion(body)["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    call = choice["message"]["tool_calls"][0]
    return call["function"]["name"], json.loads(call["function"]["arguments"])


def schema_of(tool: dict[str, Any]) -> dict[str, Any]:
    return tool["function"].get("parameters", {"type": "object"})  # type: ignore[no-any-return]


@pytest.mark.parametrize("choice", [None, "auto", "required"])
def test_calls_the_first_tool_with_valid_arguments(choice: str | None) -> None:
    body = ask("hello", tools=[WEATHER, TIME])
    if choice is not None:
        body["tool_choice"] = choice
    name, arguments = called(body)
    assert name == "get_weather"
    jsonschema.validate(arguments, schema_of(WEATHER))
    assert arguments == {"city": "a", "unit": "celsius"}


def test_calls_the_tool_named_in_the_last_user_message() -> None:
    body = ask("what does get_time say, then get_weather?", tools=[WEATHER, TIME])
    body["messages"].insert(0, {"role": "user", "content": "use get_weather"})
    name, arguments = called(body)
    assert name == "get_time"
    jsonschema.validate(arguments, schema_of(TIME), format_checker=jsonschema.FormatChecker())
    # A name inside a longer word does not count.
    assert called(ask("get_timezone", tools=[WEATHER, TIME]))[0] == "get_weather"


def test_named_tool_choice_wins_every_time() -> None:
    named = {"type": "function", "function": {"name": "ping"}}
    assert called(ask("get_weather please", tools=[WEATHER, BARE], tool_choice=named)) == (
        "ping",
        {},
    )
    after = ask("x", tools=[WEATHER, BARE], tool_choice=named)
    after["messages"] += [
        {
            "role": "assistant",
            "tool_calls": [
                {"id": "1", "type": "function", "function": {"name": "ping", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "1", "content": "pong"},
    ]
    assert called(after)[0] == "ping"


def test_tool_choice_none_answers_in_text() -> None:
    message = answer(ask("hello", tools=[WEATHER], tool_choice="none"))
    assert message["content"] == "echo: hello" and "tool_calls" not in message


def conversation(choice: str, *calls: str) -> dict[str, Any]:
    body = ask("go", tools=[WEATHER, TIME], tool_choice=choice)
    for index, name in enumerate(calls):
        body["messages"] += [
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": str(index),
                        "type": "function",
                        "function": {"name": name, "arguments": "{}"},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": str(index), "content": f"result of {name}"},
        ]
    return body


def test_after_a_tool_result_auto_answers_in_text() -> None:
    message = answer(conversation("auto", "get_weather"))
    assert message["content"] == "echo: result of get_weather"
    assert "tool_calls" not in message


def test_after_a_tool_result_required_calls_the_next_tool() -> None:
    assert called(conversation("required", "get_weather"))[0] == "get_time"
    assert called(conversation("required", "get_weather", "get_time"))[0] == "get_time"


def test_allowed_tools_choice_limits_the_candidates() -> None:
    choice = {
        "type": "allowed_tools",
        "allowed_tools": {"mode": "required", "tools": [TIME]},
    }
    assert called(ask("get_weather", tools=[WEATHER, TIME], tool_choice=choice))[0] == "get_time"


def test_json_schema_response_format_content_validates() -> None:
    schema = {
        "type": "object",
        "properties": {"answer": {"type": "string"}, "score": {"type": "integer", "minimum": 1}},
        "required": ["answer", "score"],
        "additionalProperties": False,
    }
    for strict in (True, False):
        body = ask(
            "x",
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "out", "schema": schema, "strict": strict},
            },
        )
        content = answer(body)["content"]
        jsonschema.validate(json.loads(content), schema)
    obj = answer(ask("hi", response_format={"type": "json_object"}))["content"]
    assert json.loads(obj) == {"echo": "hi"}


def test_tool_call_is_deterministic() -> None:
    body = ask("hello", tools=[WEATHER])
    assert chat_completion(body, created=1) == chat_completion(body, created=1)


def test_streamed_tool_call_is_split_as_openai_splits_it() -> None:
    body = ask("hello", tools=[WEATHER], stream=True)
    chunks = chat_chunks(body, created=1)
    whole = chat_completion(body, created=1)["choices"][0]["message"]["tool_calls"][0]
    deltas = [c["choices"][0]["delta"] for c in chunks]
    first = deltas[0]["tool_calls"][0]
    assert deltas[0]["role"] == "assistant"
    assert first == {
        "index": 0,
        "id": whole["id"],
        "type": "function",
        "function": {"name": "get_weather", "arguments": ""},
    }
    fragments = [d["tool_calls"][0] for d in deltas[1:-1]]
    assert len(fragments) > 3
    assert all(set(f) == {"index", "function"} and f["index"] == 0 for f in fragments)
    assert "".join(f["function"]["arguments"] for f in fragments) == whole["function"]["arguments"]
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_streamed_structured_output_joins_to_the_whole_answer() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    body = ask(
        "x",
        stream=True,
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "o", "schema": schema},
        },
    )
    chunks = chat_chunks(body, created=1)
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
    assert json.loads(text) == {"n": 0}
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


async def test_fake_upstream_answers_unscripted_tool_calls_like_the_mock() -> None:
    upstream = FakeUpstream()
    cfg = config(
        '[[models]]\nname = "m"\nprovider_model = "openai/gpt-4o"\napi_key = "sk-x"\n'
        'base_url = "https://api.example/v1"\n'
    )
    async with Proxy.from_config(cfg, transport=upstream, environ={}) as proxy:
        answer = await proxy.chat(
            ask("call get_time", model="m", tools=[WEATHER, TIME]), api_key=MASTER
        )
    call = answer.json()["choices"][0]["message"]["tool_calls"][0]
    assert call["function"]["name"] == "get_time"
    assert json.loads(call["function"]["arguments"]) == {"zone": "2024-01-01"}
