"""`stop_reason: "stop_sequence"` on translated `/v1/messages` answers, from recorded
Bedrock and Cohere payloads (the providers that say a stop sequence ended the answer;
OpenAI-style `finish_reason: "stop"` cannot tell, so it stays `end_turn`)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from literllm import ChatStream, Proxy, Response
from literllm.testing import FakeClock, FakeUpstream, Reply, StreamReply
from tests.core.providers.native_checks import converse_stream_bytes, load_bytes, load_json
from tests.support.configs import MASTER, config

TOML = """
[[models]]
name = "bedrock"
provider_model = "bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0"
api_key = "bedrock-api-key-0001"
base_url = "https://bedrock-runtime.us-west-2.amazonaws.com"

[[models]]
name = "cohere"
provider_model = "cohere/command-r-plus"
api_key = "co-test-0001"
base_url = "https://cohere.test"

[[models]]
name = "gpt"
provider_model = "openai/gpt-4o"
api_key = "sk-openai-0001"
base_url = "https://openai.test/v1"
"""


def body(model: str, stops: list[str], stream: bool = False) -> dict[str, Any]:
    return {
        "model": model,
        "max_tokens": 50,
        "stop_sequences": stops,
        "stream": stream,
        "messages": [{"role": "user", "content": "count to ten"}],
    }


def converse(stop_reason: str) -> dict[str, Any]:
    answer: dict[str, Any] = copy.deepcopy(load_json("bedrock", "converse_response.json"))
    answer["output"]["message"]["content"] = [{"text": "1, 2, 3"}]
    answer["stopReason"] = stop_reason
    return answer


def converse_events(stop_reason: str) -> bytes:
    events = [
        e
        for e in load_json("bedrock", "converse_stream_events.json")
        if e["payload"].get("contentBlockIndex", 0) == 0
    ]
    for event in events:
        if event["event"] == "messageStop":
            event["payload"]["stopReason"] = stop_reason
    return converse_stream_bytes(events)


async def ask(upstream: FakeUpstream, request: dict[str, Any]) -> dict[str, Any]:
    async with Proxy.from_config(
        config(TOML), transport=upstream, clock=FakeClock(), environ={}
    ) as proxy:
        answer = await proxy.messages(request, api_key=MASTER)
        if isinstance(answer, Response):
            message: dict[str, Any] = answer.json()
            return message
        assert isinstance(answer, ChatStream)
        events = [json.loads(e.split(b"data: ", 1)[1]) async for e in answer]
    [delta] = [e["delta"] for e in events if e["type"] == "message_delta"]
    return {"stop_reason": delta["stop_reason"], "stop_sequence": delta["stop_sequence"]}


@pytest.mark.parametrize(
    ("stops", "reason", "expected"),
    [
        (["###"], "stop_sequence", ("stop_sequence", "###")),
        (["###", "END"], "stop_sequence", ("stop_sequence", None)),  # Bedrock says not which
        (["###"], "end_turn", ("end_turn", None)),
    ],
)
@pytest.mark.parametrize("stream", [False, True])
async def test_bedrock(
    stops: list[str], reason: str, expected: tuple[str, str | None], stream: bool
) -> None:
    upstream = FakeUpstream()
    if stream:
        upstream.script(StreamReply([converse_events(reason)], done=False))
    else:
        upstream.script(Reply(200, json=converse(reason)))
    message = await ask(upstream, body("bedrock", stops, stream))
    assert (message["stop_reason"], message["stop_sequence"]) == expected


@pytest.mark.parametrize("stream", [False, True])
async def test_cohere(stream: bool) -> None:
    upstream = FakeUpstream()
    if stream:
        data = load_bytes("cohere", "stream_text.sse").replace(b'"COMPLETE"', b'"STOP_SEQUENCE"')
        upstream.script(StreamReply([data], done=False))
    else:
        answer = load_json("cohere", "chat_response.json")
        upstream.script(Reply(200, json={**answer, "finish_reason": "STOP_SEQUENCE"}))
    message = await ask(upstream, body("cohere", ["\n\n"], stream))
    assert (message["stop_reason"], message["stop_sequence"]) == ("stop_sequence", "\n\n")


async def test_openai_cannot_tell_so_it_is_end_turn() -> None:
    answer = load_json("protocols", "openai_chat_tool_calls.json")
    answer["choices"][0]["message"] = {"role": "assistant", "content": "1, 2, 3"}
    answer["choices"][0]["finish_reason"] = "stop"
    upstream = FakeUpstream()
    upstream.script(Reply(200, json=answer))
    message = await ask(upstream, body("gpt", ["###"]))
    assert (message["stop_reason"], message["stop_sequence"]) == ("end_turn", None)
