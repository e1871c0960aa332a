"""`/v1/responses` to an `openai/...` deployment whose upstream speaks only chat
completions (an older vLLM, a local model server): the official openai SDK against a
real `liter-llm api` process whose deployment points at a server on 127.0.0.1 that
answers 404 to everything but `/v1/chat/completions`. The gateway asks again
translated within the same attempt and remembers, so later requests go translated
at once; outputs are validated against OpenAI's Responses schemas."""

from __future__ import annotations

import json
from collections.abc import Iterator

import openai
import pytest

from tests.support.configs import MASTER
from tests.support.mockopenai import MockOpenAIServer
from tests.support.process import Gateway, Gateways, gateways_fixture  # noqa: F401
from tests.support.responses_schema import validate_responses

TEAM = "vk-chat-only-team-0001"
UPSTREAM_KEY = "sk-upstream-chat-only-0001"
CHAT = "/v1/chat/completions"


@pytest.fixture
def upstream() -> Iterator[MockOpenAIServer]:
    with MockOpenAIServer(only=(CHAT,)) as server:
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

[cooldown]
duration_secs = 60

[[models]]
name = "local"
provider_model = "openai/qwen2.5-7b-instruct"
api_key = "{UPSTREAM_KEY}"
base_url = "{upstream.base_url}"

[[keys]]
key = "{TEAM}"
"""
    )


def sdk(gateway: Gateway) -> openai.OpenAI:
    return gateway.track(
        openai.OpenAI(base_url=gateway.url + "/v1", api_key=TEAM, max_retries=0, timeout=20)
    )


def test_create_then_stream_over_a_chat_only_upstream(
    gateway: Gateway, upstream: MockOpenAIServer
) -> None:
    client = sdk(gateway)
    raw = client.responses.with_raw_response.create(
        model="local", instructions="Be brief.", input="hello there"
    )
    body = json.loads(raw.content)
    validate_responses(body, "Response")
    assert raw.headers["x-literllm-attempts"] == "1"
    response = raw.parse()
    assert response.status == "completed" and response.output_text
    assert upstream.paths() == ["/v1/responses", CHAT]
    assert upstream.requests[1].body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hello there"},
    ]

    events = []
    with client.responses.stream(model="local", input="and now stream") as stream:
        for event in stream:
            events.append(event)
        final = stream.get_final_response()
    # remembered: the stream went to chat completions without asking /responses again
    assert upstream.paths() == ["/v1/responses", CHAT, CHAT]
    assert upstream.requests[2].body["stream"] is True
    kinds = [e.type for e in events]
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    assert [e.sequence_number for e in events] == list(range(len(events)))
    for event in events:
        validate_responses(
            event.model_dump(mode="json", exclude_unset=True, warnings=False),
            "ResponseStreamEvent",
        )
    assert final.status == "completed" and final.output_text

    # a conversation continues from the gateway's store, translated
    follow = client.responses.create(model="local", previous_response_id=response.id, input="more")
    assert follow.previous_response_id == response.id
    assert upstream.paths() == ["/v1/responses", CHAT, CHAT, CHAT]
    assert [m["role"] for m in upstream.requests[3].body["messages"]] == [
        "user",
        "assistant",
        "user",
    ]

    log = gateway.stderr() + gateway.stdout()
    [line] = [x for x in log.splitlines() if "does not serve the Responses API" in x]
    assert "deployment local" in line
    assert UPSTREAM_KEY not in log


def test_a_stream_first_is_asked_again_translated(
    gateway: Gateway, upstream: MockOpenAIServer
) -> None:
    with sdk(gateway).responses.stream(model="local", input="stream first") as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_response()
    assert upstream.paths() == ["/v1/responses", CHAT]
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    assert final.output_text
