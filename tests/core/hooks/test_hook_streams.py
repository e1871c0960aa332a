"""`on_stream_chunk` on every streaming path: `/v1/messages` and `/v1/responses`
translated from chat chunks, and `/v1/messages` passed through to Anthropic natively."""

from __future__ import annotations

import json
from typing import Any

import pytest

from literllm import ChatStream, Proxy
from literllm.auth import Caller
from literllm.errors import LiterLLMError
from literllm.hooks import EndStream, Hook, RequestContext, RequestRejected, build_hooks
from literllm.testing import FakeClock, FakeUpstream, Reply, StreamReply
from tests.core.hooks.test_hooks_inprocess import MODELS, chunk
from tests.support.configs import MASTER, config

EMAIL = "jane.doe@example.com"
CARD = "4111 1111 1111 1111"
TEXT = f"write to {EMAIL} or pay {CARD}, thanks"
CLAUDE = """
[[models]]
name = "claude"
provider_model = "anthropic/claude-sonnet-4-5"
api_key = "sk-ant-upstream-0001"
base_url = "https://anthropic.test/v1"
"""
COMPAT = """
[[models]]
name = "compat"
provider_model = "openrouter/openai/gpt-4o"
api_key = "sk-compat-upstream-0001"
base_url = "https://compat.test/v1"
"""
PATTERNS = '\n[[guardrails]]\ntype = "patterns"\n'
BLOCK = PATTERNS + '[guardrails.settings]\naction = "block"\n'


class Seen(Hook):
    """Records every chunk it is shown; ends the stream on a word when asked."""

    def __init__(self, end_on: str = "", reject_on: str = "") -> None:
        self.chunks: list[dict[str, Any]] = []
        self.end_on = end_on
        self.reject_on = reject_on

    async def on_stream_chunk(
        self, ctx: RequestContext, chunk: dict[str, Any]
    ) -> list[dict[str, Any]] | None:
        self.chunks.append(json.loads(json.dumps(chunk)))
        text = str(chunk.get("choices"))
        if self.end_on and self.end_on in text:
            raise EndStream("content_filter")
        if self.reject_on and self.reject_on in text:
            raise RequestRejected("not in a stream", status=403)
        return None


def gateway(toml: str = "", *hooks: object, upstream: FakeUpstream) -> Proxy:
    return Proxy.from_config(
        config(MODELS + CLAUDE + COMPAT + toml), transport=upstream, clock=FakeClock(), hooks=hooks
    )


def split(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def chat_events(text: str, size: int = 3) -> StreamReply:
    usage = {"prompt_tokens": 5, "completion_tokens": 9, "total_tokens": 14}
    return StreamReply(
        [
            chunk("", role=True),
            *[chunk(p) for p in split(text, size)],
            chunk(None, "stop"),
            {**chunk(None), "choices": [], "usage": usage},
        ]
    )


def sse(event: dict[str, Any]) -> bytes:
    return f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()


def anthropic_events(text: str, size: int = 3) -> StreamReply:
    """A native Anthropic stream: a thinking block, then the text in `size` pieces."""
    start = {
        "type": "message_start",
        "message": {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-4-5",
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 7, "output_tokens": 1},
        },
    }
    thinking = {"type": "thinking", "thinking": "", "signature": ""}
    events = [
        sse(start),
        sse({"type": "content_block_start", "index": 0, "content_block": thinking}),
        sse(
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "thinking_delta", "thinking": f"mail {EMAIL}?"},
            }
        ),
        sse({"type": "content_block_stop", "index": 0}),
        sse(
            {
                "type": "content_block_start",
                "index": 1,
                "content_block": {"type": "text", "text": ""},
            }
        ),
        *[
            sse(
                {
                    "type": "content_block_delta",
                    "index": 1,
                    "delta": {"type": "text_delta", "text": piece},
                }
            )
            for piece in split(text, size)
        ],
        sse({"type": "content_block_stop", "index": 1}),
        sse(
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": 12},
            }
        ),
        sse({"type": "message_stop"}),
    ]
    return StreamReply(events, headers={"content-type": "text/event-stream"}, done=False)


def parse(events: list[bytes]) -> list[dict[str, Any]]:
    return [json.loads(e.split(b"data: ", 1)[1]) for e in events]


def anthropic_text(events: list[dict[str, Any]]) -> str:
    return "".join(
        e["delta"]["text"]
        for e in events
        if e["type"] == "content_block_delta" and e["delta"]["type"] == "text_delta"
    )


def responses_text(events: list[dict[str, Any]]) -> str:
    return "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")


async def messages_stream(p: Proxy, model: str) -> list[bytes]:
    body = {
        "model": model,
        "max_tokens": 50,
        "stream": True,
        "messages": [{"role": "user", "content": "hi"}],
    }
    stream = await p.messages(body, api_key=MASTER)
    assert isinstance(stream, ChatStream)
    async with stream:
        return [e async for e in stream]


async def responses_stream(p: Proxy) -> list[bytes]:
    body = {"model": "compat", "input": "hi", "stream": True, "store": False}  # translated
    stream = await p.responses.create(body, api_key=MASTER)
    assert isinstance(stream, ChatStream)
    async with stream:
        return [e async for e in stream]


# -- /v1/messages translated from chat chunks -------------------------------------------


@pytest.mark.parametrize("size", [1, 3, 7])
async def test_messages_stream_is_redacted_across_chunk_boundaries(size: int) -> None:
    upstream = FakeUpstream()
    upstream.script(chat_events(TEXT, size))
    async with gateway(PATTERNS, upstream=upstream) as p:
        events = parse(await messages_stream(p, "gpt"))
    assert anthropic_text(events) == "write to [EMAIL] or pay [CARD], thanks"
    assert events[0]["type"] == "message_start" and events[-1]["type"] == "message_stop"
    assert events[-2]["delta"]["stop_reason"] == "end_turn"
    assert events[-2]["usage"]["output_tokens"] == 9


async def test_messages_hooks_see_openai_chunks() -> None:
    upstream, seen = FakeUpstream(), Seen()
    upstream.script(chat_events("hello"))
    async with gateway("", seen, upstream=upstream) as p:
        await messages_stream(p, "gpt")
    assert {c["object"] for c in seen.chunks} == {"chat.completion.chunk"}
    assert (
        "".join(c["choices"][0]["delta"].get("content", "") for c in seen.chunks if c["choices"])
        == "hello"
    )


async def test_messages_stream_blocked_ends_as_a_refusal_without_the_match() -> None:
    upstream = FakeUpstream()
    upstream.script(chat_events(f"the card is {CARD} ok", 4))
    async with gateway(BLOCK, upstream=upstream) as p:
        raw = await messages_stream(p, "gpt")
    events = parse(raw)
    assert "4111" not in b"".join(raw).decode()
    assert [e["type"] for e in events[-2:]] == ["message_delta", "message_stop"]
    assert events[-2]["delta"]["stop_reason"] == "refusal"
    starts = sum(e["type"] == "content_block_start" for e in events)
    assert starts == sum(e["type"] == "content_block_stop" for e in events)
    assert upstream.closed_streams == 1


async def test_messages_stream_rejected_mid_stream_raises_for_the_error_event() -> None:
    upstream = FakeUpstream()
    upstream.script(chat_events("one two three"))
    async with gateway("", Seen(reject_on=" tw"), upstream=upstream) as p:
        with pytest.raises(LiterLLMError) as caught:
            await messages_stream(p, "gpt")
    assert caught.value.status == 403


# -- /v1/responses translated from chat chunks ------------------------------------------


@pytest.mark.parametrize("size", [1, 5])
async def test_responses_stream_is_redacted_everywhere(size: int) -> None:
    upstream = FakeUpstream()
    upstream.script(chat_events(TEXT, size))
    async with gateway(PATTERNS, upstream=upstream) as p:
        raw = await responses_stream(p)
    events = parse(raw)
    expected = "write to [EMAIL] or pay [CARD], thanks"
    assert responses_text(events) == expected
    assert EMAIL not in b"".join(raw).decode()  # nor in the done events and the snapshot
    done = next(e for e in events if e["type"] == "response.output_text.done")
    assert done["text"] == expected
    assert events[-1]["type"] == "response.completed"
    assert [e["sequence_number"] for e in events] == list(range(len(events)))


async def test_responses_stream_blocked_is_incomplete_with_content_filter() -> None:
    upstream = FakeUpstream()
    upstream.script(chat_events(f"the card is {CARD} ok", 4))
    async with gateway(BLOCK, upstream=upstream) as p:
        raw = await responses_stream(p)
    events = parse(raw)
    assert "4111" not in b"".join(raw).decode()
    assert events[-1]["type"] == "response.incomplete"
    assert events[-1]["response"]["incomplete_details"] == {"reason": "content_filter"}
    assert [e["sequence_number"] for e in events] == list(range(len(events)))


# -- /v1/messages passed through to Anthropic ------------------------------------------


@pytest.mark.parametrize("size", [1, 4, 9])
async def test_native_anthropic_stream_is_redacted_in_its_own_events(size: int) -> None:
    upstream = FakeUpstream()
    upstream.script(anthropic_events(TEXT, size))
    async with gateway(PATTERNS, upstream=upstream) as p:
        raw = await messages_stream(p, "claude")
    events = parse(raw)
    assert anthropic_text(events) == "write to [EMAIL] or pay [CARD], thanks"
    # thinking passes unchanged and unseen (its signature must stay valid)
    assert any(e.get("delta", {}).get("thinking") == f"mail {EMAIL}?" for e in events)
    types = [e["type"] for e in events]
    assert types[0] == "message_start" and types[-2:] == ["message_delta", "message_stop"]
    text_events = [e for e in events if e.get("index") == 1]
    assert text_events[0]["type"] == "content_block_start"
    assert text_events[-1]["type"] == "content_block_stop"


async def test_native_anthropic_hooks_see_each_text_block_as_a_choice() -> None:
    upstream, seen = FakeUpstream(), Seen()
    upstream.script(anthropic_events("hello", 2))
    async with gateway("", seen, upstream=upstream) as p:
        await messages_stream(p, "claude")
    assert [c["choices"][0]["delta"].get("content") for c in seen.chunks] == [
        "he",
        "ll",
        "o",
        None,
    ]
    assert seen.chunks[-1]["choices"][0] == {"index": 1, "delta": {}, "finish_reason": "stop"}
    assert seen.chunks[0]["id"] == "msg_1" and seen.chunks[0]["model"] == "claude-sonnet-4-5"


async def test_native_anthropic_end_stream_closes_the_block_and_the_message() -> None:
    upstream = FakeUpstream()
    upstream.script(anthropic_events("one two three", 2))
    async with gateway("", Seen(end_on="tw"), upstream=upstream) as p:
        events = parse(await messages_stream(p, "claude"))
    assert "three" not in anthropic_text(events)
    assert [e["type"] for e in events[-3:]] == [
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert events[-2]["delta"]["stop_reason"] == "refusal"
    assert upstream.closed_streams == 1


async def test_native_anthropic_block_action_leaks_nothing() -> None:
    upstream = FakeUpstream()
    upstream.script(anthropic_events(f"the card is {CARD} ok", 3))
    async with gateway(BLOCK, upstream=upstream) as p:
        raw = await messages_stream(p, "claude")
    events = parse(raw)
    assert "4111" not in anthropic_text(events)
    assert events[-2]["delta"]["stop_reason"] == "refusal"


# -- /v1/responses passed through natively (events as an OpenAI upstream sends them) ---


def responses_native_events(text: str, size: int = 3) -> list[bytes]:
    """A native Responses stream: a reasoning item, then one message with `text`."""
    response = {
        "id": "resp_1",
        "object": "response",
        "created_at": 1,
        "status": "in_progress",
        "model": "gpt-4o",
        "output": [],
        "usage": None,
    }
    message = {"id": "msg_1", "type": "message", "status": "in_progress", "role": "assistant"}
    where = {"item_id": "msg_1", "output_index": 1, "content_index": 0}
    reasoning = {"id": "rs_1", "type": "reasoning", "summary": []}
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": response},
        {"type": "response.in_progress", "response": response},
        {"type": "response.output_item.added", "output_index": 0, "item": reasoning},
        {"type": "response.output_item.done", "output_index": 0, "item": reasoning},
        {
            "type": "response.output_item.added",
            "output_index": 1,
            "item": {**message, "content": []},
        },
        {
            "type": "response.content_part.added",
            **where,
            "part": {"type": "output_text", "text": "", "annotations": []},
        },
        *[
            {"type": "response.output_text.delta", **where, "delta": piece, "logprobs": []}
            for piece in split(text, size)
        ],
        {"type": "response.output_text.done", **where, "text": text, "logprobs": []},
        {
            "type": "response.content_part.done",
            **where,
            "part": {"type": "output_text", "text": text, "annotations": []},
        },
    ]
    block = {"type": "output_text", "text": text, "annotations": []}
    item = {**message, "status": "completed", "content": [block]}
    events.append({"type": "response.output_item.done", "output_index": 1, "item": item})
    final = {**response, "status": "completed", "output": [reasoning, item]}
    events.append({"type": "response.completed", "response": final})
    return [
        f"event: {e['type']}\ndata: {json.dumps({**e, 'sequence_number': n})}\n\n".encode()
        for n, e in enumerate(events)
    ]


async def through_hooks(
    events: list[bytes], toml: str, *hooks: object, final: list[Any] | None = None
) -> list[bytes]:
    """`events` as a native `/v1/responses` stream through the gateway's hooks."""

    async def batches() -> Any:
        for event in events:
            yield [event]

    async def close() -> None:
        return None

    hook_set = build_hooks(
        config(MODELS + toml), hooks, clock=FakeClock(), estimate_tokens=lambda _body: 0
    )
    assert hook_set is not None
    caller = Caller(is_master=True, key=None, identity="master", description="master")
    selected = hook_set.select(caller, {"model": "gpt", "input": "hi"}, "responses", None)
    assert selected is not None
    stream = selected.wrap_stream(ChatStream(batches(), {}, close))
    async with stream:
        sent = [e async for e in stream]
    if final is not None:
        final.append(selected.final_response)
    return sent


@pytest.mark.parametrize("size", [1, 4, 9])
async def test_native_responses_stream_is_redacted_in_every_event(size: int) -> None:
    final: list[Any] = []
    raw = await through_hooks(responses_native_events(TEXT, size), PATTERNS, final=final)
    events = parse(raw)
    expected = "write to [EMAIL] or pay [CARD], thanks"
    assert responses_text(events) == expected
    assert EMAIL not in b"".join(raw).decode() and "4111" not in b"".join(raw).decode()
    assert next(e for e in events if e["type"] == "response.output_text.done")["text"] == expected
    assert events[-1]["type"] == "response.completed"
    assert events[-1]["response"]["output"][1]["content"][0]["text"] == expected
    assert final == [events[-1]["response"]]  # what to store
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    assert events[2]["item"]["type"] == "reasoning"  # other items pass unchanged


async def test_native_responses_hooks_see_each_text_part_as_a_choice() -> None:
    seen = Seen()
    await through_hooks(responses_native_events("hello", 2), "", seen)
    assert [c["choices"][0]["delta"].get("content") for c in seen.chunks] == [
        "he",
        "ll",
        "o",
        None,
    ]
    assert seen.chunks[-1]["choices"][0] == {"index": 1, "delta": {}, "finish_reason": "stop"}
    assert seen.chunks[0]["id"] == "resp_1" and seen.chunks[0]["model"] == "gpt-4o"


async def test_native_responses_end_stream_is_an_incomplete_response_in_sequence() -> None:
    raw = await through_hooks(responses_native_events("one two three", 2), "", Seen(end_on="tw"))
    events = parse(raw)
    assert "three" not in responses_text(events)
    assert [e["type"] for e in events[-4:]] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.incomplete",
    ]
    final = events[-1]["response"]
    assert final["incomplete_details"] == {"reason": "content_filter"}
    assert final["output"][-1]["content"][0]["text"] == responses_text(events)
    assert [e["sequence_number"] for e in events] == list(range(len(events)))


async def test_native_responses_block_action_leaks_nothing() -> None:
    raw = await through_hooks(responses_native_events(f"the card is {CARD} ok", 3), BLOCK)
    assert "4111" not in b"".join(raw).decode()
    assert parse(raw)[-1]["type"] == "response.incomplete"


# -- /v1/messages/count_tokens: the prompt may leave the gateway, so before_request runs


async def test_count_tokens_runs_before_request_hooks() -> None:
    upstream = FakeUpstream()
    upstream.script(Reply(json={"input_tokens": 12}), url="count_tokens")
    body = {"model": "claude", "messages": [{"role": "user", "content": f"I am {EMAIL}"}]}
    async with gateway(PATTERNS, upstream=upstream) as p:
        counted = await p.count_tokens(json.dumps(body).encode(), api_key=MASTER)
    refused = gateway(BLOCK, upstream=upstream)
    assert counted.json() == {"input_tokens": 12}
    (sent,) = upstream.bodies()
    assert EMAIL not in json.dumps(sent) and "[EMAIL]" in json.dumps(sent)
    async with refused as p:
        with pytest.raises(RequestRejected):
            await p.count_tokens(body, api_key=MASTER)
    assert len(upstream.bodies()) == 1  # the blocked prompt was not sent to be counted
