"""Anthropic Messages <-> chat completions, on recorded and handwritten payloads."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from literllm.errors import (
    BadRequestError,
    BudgetExceededError,
    RateLimitError,
    ServiceUnavailableError,
    UpstreamError,
)
from literllm.protocols.anthropic_errors import anthropic_error, anthropic_error_event
from literllm.protocols.anthropic_messages import (
    chat_to_message,
    messages_to_chat,
    validate_messages,
)
from literllm.providers.anthropic import build_messages_body
from literllm.providers.base import Target
from literllm.types import Usage
from tests.core.providers.native_checks import load_json

TARGET = Target(provider="anthropic", model="claude-sonnet-4-5-20250929", base_url="u")


def _recorded_request() -> dict[str, Any]:
    body: dict[str, Any] = load_json("anthropic", "messages_request.json")
    return body


def test_recorded_request_translates_to_the_equivalent_chat_request() -> None:
    chat = messages_to_chat(_recorded_request())
    expected = load_json("anthropic", "openai_request.json")
    for message in (chat["messages"][2], expected["messages"][2]):
        function = message["tool_calls"][0]["function"]
        function["arguments"] = json.loads(function["arguments"])
    assert chat["messages"] == [
        *expected["messages"][:2],
        {**expected["messages"][2], "content": None},
        expected["messages"][3],
    ]
    assert chat["tools"] == expected["tools"]
    assert chat["tool_choice"] == "required"
    assert chat["parallel_tool_calls"] is False
    assert chat["stop"] == ["\n\nHuman:"]
    assert (chat["temperature"], chat["top_p"]) == (0.5, 0.9)
    assert chat["max_completion_tokens"] == 1024
    assert chat["user"] == "user-42"
    assert "stream" not in chat


def test_translation_round_trips_through_the_anthropic_adapter() -> None:
    """Messages -> chat -> Messages (our outbound adapter) gives back the client's body."""
    original = _recorded_request()
    back = build_messages_body(TARGET, messages_to_chat(copy.deepcopy(original)))
    assert back == original


def test_tool_results_come_first_and_images_move_to_the_user_turn() -> None:
    body = {
        "model": "m",
        "max_tokens": 10,
        "messages": [
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "hmm", "signature": "sig"},
                    {"type": "tool_use", "id": "t1", "name": "shot", "input": {}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "here"},
                    {
                        "type": "tool_result",
                        "tool_use_id": "t1",
                        "is_error": True,
                        "content": [
                            {"type": "text", "text": "failed"},
                            {
                                "type": "image",
                                "source": {
                                    "type": "base64",
                                    "media_type": "image/png",
                                    "data": "AA",
                                },
                            },
                        ],
                    },
                ],
            },
        ],
    }
    chat = messages_to_chat(body)
    assert chat["messages"] == [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "t1", "type": "function", "function": {"name": "shot", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "t1", "content": "Error: failed"},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "here"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA"}},
            ],
        },
    ]


def test_system_blocks_with_cache_control_become_one_system_message() -> None:
    body = {
        "model": "m",
        "max_tokens": 5,
        "system": [
            {"type": "text", "text": "one"},
            {"type": "text", "text": "two", "cache_control": {"type": "ephemeral"}},
        ],
        "messages": [{"role": "user", "content": "hi"}],
        "stream": True,
        "thinking": {"type": "enabled", "budget_tokens": 10000},
        "tool_choice": {"type": "tool", "name": "f"},
        "tools": [{"name": "f", "input_schema": {"type": "object"}, "cache_control": {}}],
    }
    chat = messages_to_chat(body)
    assert chat["messages"] == [
        {"role": "system", "content": "one\n\ntwo"},
        {"role": "user", "content": "hi"},
    ]
    assert chat["stream"] is True
    assert chat["stream_options"] == {"include_usage": True}
    assert chat["reasoning_effort"] == "medium"
    assert chat["tool_choice"] == {"type": "function", "function": {"name": "f"}}
    assert chat["tools"] == [
        {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
    ]


@pytest.mark.parametrize(
    ("change", "param"),
    [
        ({"top_k": 5}, "top_k"),
        ({"container": "c"}, "container"),
        ({"mcp_servers": []}, "mcp_servers"),
        ({"tools": [{"type": "web_search_20250305", "name": "web_search"}]}, "tools"),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "document", "source": {"type": "text", "data": "x"}}],
                    }
                ]
            },
            "messages.0.content.0",
        ),
        ({"thinking": {"type": "enabled_later"}}, "thinking"),
        ({"tools": [{"type": "bash_20250124", "name": "bash"}]}, "tools"),
        ({"output_format": {"type": "regex", "pattern": "x"}}, "output_format"),
        ({"output_config": {"format": {"type": "xml"}}}, "output_config"),
        ({"output_config": {"task_budget": 5}}, "output_config"),
    ],
)
def test_what_chat_cannot_honour_is_refused(change: dict[str, Any], param: str) -> None:
    body = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}
    with pytest.raises(BadRequestError) as caught:
        messages_to_chat({**body, **change})
    assert caught.value.param == param
    assert caught.value.code == "not_translatable"


@pytest.mark.parametrize(
    "body",
    [
        {"model": "m", "messages": [{"role": "user", "content": "x"}]},
        {"model": "m", "max_tokens": 0, "messages": [{"role": "user", "content": "x"}]},
        {"model": "m", "max_tokens": 5, "messages": []},
        {"model": "m", "max_tokens": 5, "messages": [{"role": "system", "content": "x"}]},
        {"model": "m", "max_tokens": 5, "messages": "hi"},
    ],
)
def test_validation_refuses_what_anthropic_refuses(body: dict[str, Any]) -> None:
    with pytest.raises(BadRequestError):
        validate_messages(body)


def test_count_tokens_needs_no_max_tokens() -> None:
    validate_messages(
        {"model": "m", "messages": [{"role": "user", "content": "x"}]}, count_tokens=True
    )


def test_chat_answer_with_tool_calls_becomes_a_tool_use_message() -> None:
    chat = load_json("protocols", "openai_chat_tool_calls.json")
    usage = Usage(prompt_tokens=120, completion_tokens=41, total_tokens=161, cached_tokens=64)
    message = chat_to_message(chat, usage, model="gpt-4o-2024-08-06")
    assert message == {
        "id": "msg_chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
        "type": "message",
        "role": "assistant",
        "model": "gpt-4o-2024-08-06",
        "content": [
            {"type": "text", "text": "Let me check both cities."},
            {
                "type": "tool_use",
                "id": "call_DdmO9pD3xa9XTPNJ32zg2hcA",
                "name": "get_weather",
                "input": {"location": "Paris"},
            },
            {
                "type": "tool_use",
                "id": "call_ABCyx3mr0P4d3MPGgs2Aa4Xd",
                "name": "get_weather",
                "input": {"location": "Oslo"},
            },
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 56,
            "output_tokens": 41,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 64,
        },
    }


@pytest.mark.parametrize(
    ("finish", "reason"),
    [("stop", "end_turn"), ("length", "max_tokens"), ("content_filter", "refusal")],
)
def test_finish_reasons_map_to_stop_reasons(finish: str, reason: str) -> None:
    chat = {"id": "c", "choices": [{"message": {"content": "x"}, "finish_reason": finish}]}
    assert chat_to_message(chat, None, model="m")["stop_reason"] == reason


@pytest.mark.parametrize(
    ("error", "status", "kind"),
    [
        (BadRequestError("bad"), 400, "invalid_request_error"),
        (BudgetExceededError("spent"), 402, "billing_error"),
        (RateLimitError("slow"), 429, "rate_limit_error"),
        (ServiceUnavailableError("cooling"), 529, "overloaded_error"),
        (UpstreamError("gone", status=502), 500, "api_error"),
        (UpstreamError("busy", status=529, code="overloaded_error"), 529, "overloaded_error"),
        (UpstreamError("slow", status=504), 504, "timeout_error"),
    ],
)
def test_errors_take_anthropic_statuses_and_types(error: Any, status: int, kind: str) -> None:
    got_status, body = anthropic_error(error)
    assert got_status == status
    assert json.loads(body) == {"type": "error", "error": {"type": kind, "message": error.message}}
    event = anthropic_error_event(error)
    assert event.startswith(b"event: error\ndata: ") and event.endswith(b"\n\n")


def test_an_assistant_turn_of_only_thinking_is_dropped() -> None:
    body = {
        "model": "m",
        "max_tokens": 5,
        "messages": [
            {"role": "user", "content": "a"},
            {
                "role": "assistant",
                "content": [{"type": "thinking", "thinking": "t", "signature": "s"}],
            },
            {"role": "user", "content": "b"},
        ],
    }
    assert messages_to_chat(body)["messages"] == [
        {"role": "user", "content": "a"},
        {"role": "user", "content": "b"},
    ]


def test_claude_code_request_fields_translate_or_drop() -> None:
    """What Claude Code sends besides the basics: advisory fields are dropped, structured
    outputs become `response_format`, `cache_control` disappears with its blocks' markup."""
    schema = {"type": "object", "properties": {"title": {"type": "string"}}}
    body = {
        "model": "m",
        "max_tokens": 100,
        "system": [
            {"type": "text", "text": "You are Claude Code.", "cache_control": {"type": "ephemeral"}}
        ],
        "messages": [
            {
                "role": "user",
                "content": [{"type": "text", "text": "hi", "cache_control": {"type": "ephemeral"}}],
            }
        ],
        "tools": [
            {"name": "Bash", "input_schema": {"type": "object"}, "strict": True,
             "cache_control": {"type": "ephemeral"}}
        ],
        "context_management": {"edits": [{"type": "clear_tool_uses_20250919"}]},
        "thinking": {"type": "adaptive"},
        "output_config": {"effort": "high", "format": {"type": "json_schema", "schema": schema}},
        "metadata": {"user_id": "user_abc_session_1"},
    }  # fmt: skip
    chat = messages_to_chat(body)
    assert "context_management" not in chat and "reasoning_effort" not in chat
    assert chat["messages"] == [
        {"role": "system", "content": "You are Claude Code."},
        {"role": "user", "content": "hi"},
    ]
    function = {"name": "Bash", "parameters": {"type": "object"}, "strict": True}
    assert chat["tools"] == [{"type": "function", "function": function}]
    assert chat["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "output", "schema": schema, "strict": True},
    }
    assert chat["user"] == "user_abc_session_1"
    beta = {k: v for k, v in body.items() if k != "output_config"}
    beta["output_format"] = {"type": "json_schema", "schema": schema}
    assert messages_to_chat(beta)["response_format"] == chat["response_format"]
