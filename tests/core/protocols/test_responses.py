"""OpenAI Responses <-> chat completions, checked against OpenAI's Responses schemas."""

from __future__ import annotations

import json
from typing import Any

import pytest

from literllm.errors import BadRequestError
from literllm.protocols.responses import (
    chat_to_output,
    input_items,
    response_object,
    responses_to_chat,
    validate_responses,
)
from literllm.protocols.responses_events import ResponsesEventEncoder
from literllm.providers.base import Target
from literllm.providers.openai import OpenAIAdapter
from literllm.routing.inbound import TranslatedStream
from literllm.types import Usage
from tests.core.providers.native_checks import load_bytes, load_json
from tests.support.responses_schema import validate_responses as validate_schema

OPENAI = Target(provider="openai", model="gpt-4o", base_url="https://api.openai.com/v1")

AGENT_REQUEST: dict[str, Any] = {
    "model": "gpt-4o",
    "instructions": "You are terse.",
    "input": [
        {"role": "developer", "content": "Use metric units."},
        {
            "role": "user",
            "content": [
                {"type": "input_text", "text": "Weather in Paris and Oslo?"},
                {"type": "input_image", "image_url": "https://example.com/a.png", "detail": "low"},
            ],
        },
        {
            "type": "function_call",
            "call_id": "call_1",
            "name": "get_weather",
            "arguments": '{"location":"Paris"}',
        },
        {
            "type": "function_call",
            "call_id": "call_2",
            "name": "get_weather",
            "arguments": '{"location":"Oslo"}',
        },
        {"type": "function_call_output", "call_id": "call_1", "output": "15C"},
        {"type": "function_call_output", "call_id": "call_2", "output": "3C"},
    ],
    "tools": [
        {
            "type": "function",
            "name": "get_weather",
            "description": "Weather now",
            "parameters": {"type": "object", "properties": {"location": {"type": "string"}}},
            "strict": False,
        }
    ],
    "tool_choice": "auto",
    "text": {
        "format": {
            "type": "json_schema",
            "name": "report",
            "schema": {"type": "object", "properties": {"summary": {"type": "string"}}},
            "strict": True,
        }
    },
    "reasoning": {"effort": "low"},
    "max_output_tokens": 300,
    "temperature": 0.2,
    "safety_identifier": "user-7",
}


def test_agent_request_translates_to_chat() -> None:
    chat = responses_to_chat(AGENT_REQUEST)
    assert chat["messages"] == [
        {"role": "system", "content": "You are terse."},
        {"role": "system", "content": "Use metric units."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Weather in Paris and Oslo?"},
                {
                    "type": "image_url",
                    "image_url": {"url": "https://example.com/a.png", "detail": "low"},
                },
            ],
        },
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"location":"Paris"}'},
                },
                {
                    "id": "call_2",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"location":"Oslo"}'},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "15C"},
        {"role": "tool", "tool_call_id": "call_2", "content": "3C"},
    ]
    assert chat["tools"][0]["function"] == {
        "name": "get_weather",
        "description": "Weather now",
        "parameters": {"type": "object", "properties": {"location": {"type": "string"}}},
        "strict": False,
    }
    assert chat["tool_choice"] == "auto"
    assert chat["response_format"] == {
        "type": "json_schema",
        "json_schema": {
            "name": "report",
            "schema": {"type": "object", "properties": {"summary": {"type": "string"}}},
            "strict": True,
        },
    }
    assert chat["reasoning_effort"] == "low"
    assert chat["max_completion_tokens"] == 300
    assert chat["temperature"] == 0.2
    assert chat["user"] == "user-7"


def test_history_comes_before_the_new_input() -> None:
    history = [
        *input_items({"input": "hi"}),
        {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "hello"}],
        },
    ]
    chat = responses_to_chat({"model": "m", "input": "again"}, history)
    assert chat["messages"] == [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
        {"role": "user", "content": "again"},
    ]


def test_input_items_get_ids_and_item_form() -> None:
    items = input_items({"input": "hello"})
    assert items[0]["type"] == "message" and items[0]["id"].startswith("msg_")
    assert items[0]["content"] == [{"type": "input_text", "text": "hello"}]
    listing = {
        "object": "list",
        "data": items,
        "first_id": items[0]["id"],
        "last_id": items[0]["id"],
        "has_more": False,
    }
    validate_schema(listing, "ResponseItemList")


@pytest.mark.parametrize(
    ("change", "param"),
    [
        ({"tools": [{"type": "web_search"}]}, "tools"),
        ({"input": [{"type": "item_reference", "id": "x"}]}, "input.0"),
        (
            {"input": [{"role": "user", "content": [{"type": "input_file", "file_id": "f"}]}]},
            "input.0.content.0",
        ),
        ({"text": {"format": {"type": "grammar"}}}, "text"),
    ],
)
def test_what_chat_cannot_carry_is_refused(change: dict[str, Any], param: str) -> None:
    with pytest.raises(BadRequestError) as caught:
        responses_to_chat({"model": "m", "input": "x", **change})
    assert caught.value.param == param


@pytest.mark.parametrize(
    "body",
    [
        {"input": "x"},
        {"model": "m"},
        {"model": "m", "input": "x", "max_output_tokens": 0},
        {"model": "m", "input": "x", "background": True},
        {"model": "m", "input": "x", "conversation": "c"},
    ],
)
def test_validation(body: dict[str, Any]) -> None:
    with pytest.raises(BadRequestError):
        validate_responses(body)


def test_chat_answer_becomes_a_schema_valid_response() -> None:
    chat = load_json("protocols", "openai_chat_tool_calls.json")
    output, finish = chat_to_output(chat)
    usage = Usage(prompt_tokens=120, completion_tokens=41, total_tokens=161, cached_tokens=64)
    response = response_object(
        AGENT_REQUEST,
        response_id="resp_1",
        model="gpt-4o",
        status="completed",
        output=output,
        usage=usage,
        finish_reason=finish,
    )
    validate_schema(response, "Response")
    assert [item["type"] for item in response["output"]] == [
        "message",
        "function_call",
        "function_call",
    ]
    assert response["output"][1]["call_id"] == "call_DdmO9pD3xa9XTPNJ32zg2hcA"
    assert response["usage"]["input_tokens_details"]["cached_tokens"] == 64
    assert response["status"] == "completed"


def test_length_finish_is_incomplete() -> None:
    chat = {"choices": [{"message": {"content": "abc"}, "finish_reason": "length"}]}
    output, finish = chat_to_output(chat)
    response = response_object(
        {"model": "m"},
        response_id="resp_2",
        model="m",
        status="completed",
        output=output,
        usage=None,
        finish_reason=finish,
    )
    validate_schema(response, "Response")
    assert response["status"] == "incomplete"
    assert response["incomplete_details"] == {"reason": "max_output_tokens"}


def _events(data: bytes) -> list[dict[str, Any]]:
    events = []
    for block in data.decode().split("\n\n"):
        if block.strip():
            name, payload = block.split("\n")
            event = json.loads(payload.removeprefix("data: "))
            assert name == "event: " + event["type"]
            events.append(event)
    return events


def test_stream_emits_the_responses_event_sequence() -> None:
    encoder = ResponsesEventEncoder(
        AGENT_REQUEST, response_id="resp_3", created_at=1, model="gpt-4o"
    )
    stream = TranslatedStream(OpenAIAdapter().stream_decoder(OPENAI, include_usage=True), encoder)
    data = load_bytes("protocols", "openai_stream_tool_calls.sse")
    events = _events(b"".join([*stream.feed(data), *stream.close()]))
    assert [e["type"] for e in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    for event in events:
        validate_schema(event, "ResponseStreamEvent")
    final = events[-1]["response"]
    assert final == encoder.response
    assert final["output"][0]["content"][0]["text"] == "Let me check both cities."
    assert final["output"][1]["arguments"] == '{"location": "Paris"}'
    assert final["usage"]["output_tokens"] == 41
    # the streamed answer is the non-streamed one, but for generated item ids
    chat = load_json("protocols", "openai_chat_tool_calls.json")
    output, _ = chat_to_output(chat)
    for streamed, whole in zip(final["output"], output, strict=True):
        streamed.pop("id"), whole.pop("id")
        assert streamed == whole


def test_empty_assistant_messages_are_dropped() -> None:
    chat = responses_to_chat(
        {
            "model": "m",
            "input": [
                {"role": "assistant", "content": ""},
                {"type": "reasoning", "id": "rs_1", "summary": []},
                {"role": "user", "content": "hi"},
            ],
        }
    )
    assert chat["messages"] == [{"role": "user", "content": "hi"}]
