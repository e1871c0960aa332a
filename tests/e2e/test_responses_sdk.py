"""The official openai SDK's Responses API against the real server, translated over an
Anthropic, a Gemini and an OpenAI-compatible upstream (fake upstreams replaying
documented wire formats); outputs validated against OpenAI's Responses schemas. The
native pass-through to OpenAI itself: test_responses_native."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from literllm import Proxy
from literllm.testing import FakeUpstream, Reply, StreamReply
from tests.support.configs import MASTER, config
from tests.support.responses_schema import validate_responses
from tests.support.server import ServerThread

DATA = Path(__file__).resolve().parents[1] / "data"
OTHER_KEY = "vk-other-team-0011"

MODELS = f"""
[[models]]
name = "claude"
provider_model = "anthropic/claude-sonnet-4-5"
api_key = "sk-ant-upstream"
base_url = "https://anthropic.test/v1"

[[models]]
name = "gpt"
provider_model = "openai/gpt-4o"
api_key = "sk-openai-upstream"
base_url = "https://openai.test/v1"

[[models]]
name = "compat"
provider_model = "openrouter/openai/gpt-4o"
api_key = "sk-compat-upstream"
base_url = "https://compat.test/v1"

[[models]]
name = "gemini"
provider_model = "gemini/gemini-2.0-flash"
api_key = "gm-test"
base_url = "https://gemini.test/v1beta"

[[keys]]
key = "{OTHER_KEY}"
"""

TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather now",
    "parameters": {"type": "object", "properties": {"location": {"type": "string"}}},
    "strict": False,
}


def recorded(provider: str, name: str) -> bytes:
    return (DATA / provider / name).read_bytes()


def files_table(root: Path) -> str:
    return f'[files]\nbackend = "fs"\n[files.backend_config]\nroot = "{root}"\n'


@pytest.fixture
def upstream() -> FakeUpstream:
    return FakeUpstream()


@pytest.fixture
def server(upstream: FakeUpstream, tmp_path: Path) -> Iterator[ServerThread]:
    proxy = Proxy.from_config(
        config(MODELS + files_table(tmp_path)), transport=upstream, environ={}
    )
    with ServerThread(proxy) as running:
        yield running


def sdk(server: ServerThread, key: str = MASTER) -> openai.OpenAI:
    return server.track(
        openai.OpenAI(base_url=server.url + "/v1", api_key=key, max_retries=0, timeout=10)
    )


def test_create_over_anthropic(server: ServerThread, upstream: FakeUpstream) -> None:
    upstream.script(Reply(200, body=recorded("anthropic", "messages_response.json")))
    raw = sdk(server).responses.with_raw_response.create(
        model="claude", instructions="Be brief.", input="hello", max_output_tokens=100
    )
    body = json.loads(raw.content)
    validate_responses(body, "Response")
    response = raw.parse()
    assert response.id.startswith("resp_")
    assert response.status == "completed"
    assert response.output_text
    assert response.usage is not None and response.usage.input_tokens > 0
    sent = json.loads(upstream.requests[0].body)
    assert upstream.requests[0].url == "https://anthropic.test/v1/messages"
    assert sent["system"] == [{"type": "text", "text": "Be brief."}]
    assert sent["messages"] == [{"role": "user", "content": [{"type": "text", "text": "hello"}]}]
    assert sent["max_tokens"] == 100


def test_stream_over_anthropic_tool_use(server: ServerThread, upstream: FakeUpstream) -> None:
    upstream.script(StreamReply([recorded("anthropic", "stream_tool_use.sse")], done=False))
    events = []
    with sdk(server).responses.stream(
        model="claude",
        input="Weather in San Francisco?",
        tools=[TOOL],  # type: ignore[list-item]
    ) as stream:
        for event in stream:
            events.append(event)
        final = stream.get_final_response()
    kinds = [e.type for e in events]
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert kinds[-1] == "response.completed"
    assert "response.output_text.delta" in kinds
    assert "response.function_call_arguments.delta" in kinds
    assert [e.sequence_number for e in events] == list(range(len(events)))
    for event in events:
        validate_responses(
            event.model_dump(mode="json", exclude_unset=True, warnings=False), "ResponseStreamEvent"
        )
    calls = [item for item in final.output if item.type == "function_call"]
    assert calls and json.loads(calls[0].arguments) == {"location": "San Francisco, CA"}
    # what was streamed is what is stored
    stored = json.loads(sdk(server).responses.with_raw_response.retrieve(final.id).content)
    completed = events[-1].model_dump(mode="json", exclude_unset=True, warnings=False)["response"]
    for item in completed["output"]:  # the SDK's parsing helpers, not on the wire
        item.pop("parsed_arguments", None)
        for part in item.get("content", ()):
            part.pop("parsed", None)
    assert stored == completed


def test_previous_response_id_chain_over_a_non_openai_upstream(
    server: ServerThread, upstream: FakeUpstream
) -> None:
    upstream.script(
        StreamReply([recorded("anthropic", "stream_tool_use.sse")], done=False),
        Reply(200, body=recorded("anthropic", "messages_response.json")),
        Reply(200, body=recorded("anthropic", "messages_response.json")),
    )
    client = sdk(server)
    with client.responses.stream(
        model="claude",
        input="Weather?",
        tools=[TOOL],  # type: ignore[list-item]
    ) as stream:
        first = stream.get_final_response()
    call = next(item for item in first.output if item.type == "function_call")
    second = client.responses.create(
        model="claude",
        previous_response_id=first.id,
        tools=[TOOL],  # type: ignore[list-item]
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "15C"}],
    )
    third = client.responses.create(
        model="claude", previous_response_id=second.id, input="Thanks. And tomorrow?"
    )
    assert third.previous_response_id == second.id
    sent = json.loads(upstream.requests[-1].body)["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "user", "assistant", "user"]
    assert sent[1]["content"][-1]["type"] == "tool_use"
    assert sent[2]["content"][0] == {
        "type": "tool_result",
        "tool_use_id": call.call_id,
        "content": "15C",
    }
    assert sent[-1]["content"][-1] == {"type": "text", "text": "Thanks. And tomorrow?"}
    items = client.responses.input_items.list(third.id)
    validate_responses(
        {
            **items.model_dump(mode="json", exclude_unset=True, warnings=False),
            "first_id": items.first_id,
        },
        "ResponseItemList",
    )
    assert items.data[0].type == "message"  # newest first


def test_retrieve_delete_and_cancel(server: ServerThread, upstream: FakeUpstream) -> None:
    upstream.script(Reply(200, body=recorded("anthropic", "messages_response.json")))
    client = sdk(server)
    created = client.responses.create(model="claude", input="hi")
    raw = client.responses.with_raw_response.retrieve(created.id)
    validate_responses(json.loads(raw.content), "Response")
    assert raw.parse().output_text == created.output_text
    with pytest.raises(openai.BadRequestError):
        client.responses.cancel(created.id)
    with pytest.raises(openai.NotFoundError):
        sdk(server, OTHER_KEY).responses.retrieve(created.id)  # another key's response
    with pytest.raises(openai.NotFoundError):
        sdk(server, OTHER_KEY).responses.delete(created.id)
    client.responses.delete(created.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(created.id)


def test_store_false_keeps_nothing(server: ServerThread, upstream: FakeUpstream) -> None:
    upstream.script(Reply(200, body=recorded("anthropic", "messages_response.json")))
    client = sdk(server)
    created = client.responses.create(model="claude", input="hi", store=False)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(created.id)


def test_conversation_survives_a_restart(upstream: FakeUpstream, tmp_path: Path) -> None:
    upstream.script(
        Reply(200, body=recorded("anthropic", "messages_response.json")),
        Reply(200, body=recorded("protocols", "openai_chat_tool_calls.json")),
    )
    toml = MODELS + files_table(tmp_path)
    with ServerThread(Proxy.from_config(config(toml), transport=upstream, environ={})) as one:
        first = sdk(one, OTHER_KEY).responses.create(model="claude", input="hello")
    with ServerThread(Proxy.from_config(config(toml), transport=upstream, environ={})) as two:
        second = sdk(two, OTHER_KEY).responses.create(
            model="compat", previous_response_id=first.id, input="more"
        )
    sent = json.loads(upstream.requests[-1].body)
    assert upstream.requests[-1].url == "https://compat.test/v1/chat/completions"
    assert [m["role"] for m in sent["messages"]] == ["user", "assistant", "user"]
    assert sent["messages"][1]["content"] == first.output_text
    assert [item.type for item in second.output] == ["message", "function_call", "function_call"]


def test_openai_compatible_upstream_text_format_and_errors(
    server: ServerThread, upstream: FakeUpstream
) -> None:
    upstream.script(Reply(200, body=recorded("protocols", "openai_chat_tool_calls.json")))
    client = sdk(server)
    client.responses.create(
        model="compat",
        input="weather",
        text={"format": {"type": "json_schema", "name": "r", "schema": {"type": "object"}}},
        reasoning={"effort": "low"},
    )
    sent: dict[str, Any] = json.loads(upstream.requests[0].body)
    assert sent["response_format"]["json_schema"] == {"name": "r", "schema": {"type": "object"}}
    assert sent["reasoning_effort"] == "low"
    with pytest.raises(openai.BadRequestError) as refused:
        client.responses.create(model="compat", input="x", tools=[{"type": "web_search"}])
    assert refused.value.code == "not_translatable"
    assert refused.value.param == "tools"
    with pytest.raises(openai.NotFoundError):
        client.responses.create(model="compat", input="x", previous_response_id="resp_unknown")


def test_gemini_upstream_create_and_stream(server: ServerThread, upstream: FakeUpstream) -> None:
    upstream.script(
        Reply(200, body=recorded("gemini", "generate_content_response.json")),
        StreamReply([recorded("gemini", "stream_text.sse")], done=False),
    )
    client = sdk(server)
    raw = client.responses.with_raw_response.create(model="gemini", input="hello")
    validate_responses(json.loads(raw.content), "Response")
    assert raw.parse().output_text
    with client.responses.stream(model="gemini", input="hello") as stream:
        events = list(stream)
        final = stream.get_final_response()
    for event in events:
        dumped = event.model_dump(mode="json", exclude_unset=True, warnings=False)
        validate_responses(dumped, "ResponseStreamEvent")
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas and final.output_text == deltas
    assert "gemini.test" in upstream.requests[-1].url


def test_openai_compatible_upstream_stream_equals_the_non_streamed_answer(
    server: ServerThread, upstream: FakeUpstream
) -> None:
    upstream.script(
        Reply(200, body=recorded("protocols", "openai_chat_tool_calls.json")),
        StreamReply([recorded("protocols", "openai_stream_tool_calls.sse")], done=False),
        url="compat.test",
    )
    client = sdk(server)
    whole = client.responses.create(model="compat", input="Paris and Oslo?", tools=[TOOL])  # type: ignore[list-item]
    with client.responses.stream(model="compat", input="Paris and Oslo?", tools=[TOOL]) as stream:  # type: ignore[list-item]
        final = stream.get_final_response()

    def comparable(response: Any) -> list[dict[str, Any]]:
        items = response.model_dump(mode="json", warnings=False)["output"]
        for item in items:
            item.pop("id")
            item.pop("parsed_arguments", None)  # the stream helper's parsing, not the wire
            for part in item.get("content") or ():
                part.pop("parsed", None)
        return items

    assert comparable(final) == comparable(whole)
    assert final.usage is not None and whole.usage is not None
    assert final.usage.model_dump() == whole.usage.model_dump()
    assert json.loads(upstream.requests[-1].body)["stream_options"] == {"include_usage": True}
