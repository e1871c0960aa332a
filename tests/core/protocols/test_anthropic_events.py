"""Chat chunks -> Anthropic events, and the native pass-through decoder."""

from __future__ import annotations

import json
from typing import Any

import pytest

from literllm.errors import UpstreamError
from literllm.protocols.anthropic_events import MessagesEventEncoder
from literllm.protocols.anthropic_messages import chat_to_message
from literllm.providers.anthropic import AnthropicAdapter
from literllm.providers.anthropic_native import NativeMessagesDecoder
from literllm.providers.base import Target
from literllm.providers.openai import OpenAIAdapter
from literllm.routing.inbound import TranslatedStream
from tests.core.providers.native_checks import load_bytes, load_json

OPENAI = Target(provider="openai", model="gpt-4o", base_url="https://api.openai.com/v1")
CLAUDE = Target(provider="anthropic", model="claude-sonnet-4-5", base_url="https://a.test/v1")


def parse_events(data: bytes) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for block in data.decode().split("\n\n"):
        if not block.strip():
            continue
        name_line, data_line = block.split("\n")
        assert name_line.startswith("event: ") and data_line.startswith("data: ")
        payload = json.loads(data_line[6:])
        assert payload["type"] == name_line[7:]
        events.append((name_line[7:], payload))
    return events


def accumulate(events: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """Build the final message from events the way Anthropic's docs describe."""
    message: dict[str, Any] = {}
    partial: dict[int, str] = {}
    for kind, event in events:
        if kind == "message_start":
            message = dict(event["message"])
            message["content"] = []
        elif kind == "content_block_start":
            assert event["index"] == len(message["content"])
            message["content"].append(dict(event["content_block"]))
        elif kind == "content_block_delta":
            block, delta = message["content"][event["index"]], event["delta"]
            if delta["type"] == "text_delta":
                block["text"] += delta["text"]
            elif delta["type"] == "thinking_delta":
                block["thinking"] += delta["thinking"]
            else:
                partial[event["index"]] = partial.get(event["index"], "") + delta["partial_json"]
        elif kind == "content_block_stop":
            if event["index"] in partial:
                message["content"][event["index"]]["input"] = json.loads(partial[event["index"]])
        elif kind == "message_delta":
            message.update(event["delta"])
            message["usage"] = {**message["usage"], **event["usage"]}
    return message


def translated(data: bytes, split: int | None = None) -> list[tuple[str, dict[str, Any]]]:
    stream = TranslatedStream(
        OpenAIAdapter().stream_decoder(OPENAI, include_usage=True),
        MessagesEventEncoder(model="gpt-4o", input_tokens=7),
    )
    out = []
    if split is None:
        out.extend(stream.feed(data))
    else:
        out.extend(stream.feed(data[:split]))
        out.extend(stream.feed(data[split:]))
    out.extend(stream.close())
    return parse_events(b"".join(out))


def test_tool_call_stream_emits_anthropics_event_sequence() -> None:
    events = translated(load_bytes("protocols", "openai_stream_tool_calls.sse"))
    assert [k for k, _ in events] == [
        "message_start",
        "ping",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    start = events[0][1]["message"]
    assert start["usage"]["input_tokens"] == 7  # the gateway's estimate until the end
    assert events[6][1]["content_block"] == {
        "type": "tool_use",
        "id": "call_DdmO9pD3xa9XTPNJ32zg2hcA",
        "name": "get_weather",
        "input": {},
    }
    assert [e["delta"]["partial_json"] for _, e in events[7:9]] == ['{"location":', ' "Paris"}']
    assert events[-2][1] == {
        "type": "message_delta",
        "delta": {"stop_reason": "tool_use", "stop_sequence": None},
        "usage": {
            "input_tokens": 56,
            "output_tokens": 41,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 64,
        },
    }


def test_accumulated_stream_equals_the_non_streaming_translation() -> None:
    events = translated(load_bytes("protocols", "openai_stream_tool_calls.sse"))
    chat = load_json("protocols", "openai_chat_tool_calls.json")
    usage = OpenAIAdapter().chat_response(OPENAI, _response(json.dumps(chat).encode())).usage
    assert accumulate(events) == chat_to_message(chat, usage, model="gpt-4o-2024-08-06")


def test_every_split_of_the_upstream_bytes_gives_the_same_events() -> None:
    data = load_bytes("protocols", "openai_stream_tool_calls.sse")
    whole = translated(data)
    for split in range(1, len(data), 7):
        got = translated(data, split)
        got[0][1]["message"]["id"] = whole[0][1]["message"]["id"]
        assert got == whole


def test_thinking_then_text_opens_two_blocks() -> None:
    encoder = MessagesEventEncoder(model="m")
    out = encoder.feed({"id": "c", "choices": [{"delta": {"reasoning_content": "think"}}]})
    out += encoder.feed({"id": "c", "choices": [{"delta": {"content": "hi"}}]})
    out += encoder.feed({"id": "c", "choices": [{"delta": {}, "finish_reason": "length"}]})
    out += encoder.finish()
    events = parse_events(b"".join(out))
    assert [e.get("delta", {}).get("type") for k, e in events if k == "content_block_delta"] == [
        "thinking_delta",
        "text_delta",
    ]
    assert events[-2][1]["delta"]["stop_reason"] == "max_tokens"
    assert encoder.finish() == []  # idempotent


def _response(body: bytes) -> Any:
    from literllm.transport.base import UpstreamResponse

    return UpstreamResponse(200, {"content-type": "application/json"}, body)


@pytest.mark.parametrize("name", ["stream_text.sse", "stream_tool_use.sse"])
def test_native_decoder_passes_every_byte_through(name: str) -> None:
    data = load_bytes("anthropic", name)
    for step in (len(data), 1, 13):
        decoder = NativeMessagesDecoder(AnthropicAdapter(), CLAUDE)
        out: list[bytes] = []
        for i in range(0, len(data), step):
            out.extend(decoder.feed(data[i : i + step]))
        out.extend(decoder.close())
        assert b"".join(out) == data
        assert decoder.usage is not None and decoder.usage.completion_tokens > 0
        assert decoder.response_id and decoder.response_id.startswith("msg_")


def test_native_decoder_raises_the_error_event_with_its_type() -> None:
    decoder = NativeMessagesDecoder(AnthropicAdapter(), CLAUDE)
    with pytest.raises(UpstreamError) as caught:
        decoder.feed(load_bytes("anthropic", "stream_error.sse"))
    assert caught.value.code == "overloaded_error"
    assert caught.value.retryable


def test_native_decoder_refuses_a_cut_stream() -> None:
    decoder = NativeMessagesDecoder(AnthropicAdapter(), CLAUDE)
    decoder.feed(load_bytes("anthropic", "stream_text.sse")[:200])
    with pytest.raises(UpstreamError):
        decoder.close()
