"""`proxy.responses` to an `openai/...` deployment that may not serve the Responses API
(an OpenAI-compatible server that speaks only chat completions), and to one that lost
a stored previous response: the retries within one attempt, and what the deployment's
router state remembers, on the fake clock."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from literllm import ChatStream, Proxy, Response
from literllm.errors import UpstreamError
from literllm.providers import Target
from literllm.providers.openai import OpenAIAdapter
from literllm.routing.inbound import ResponsesInbound
from literllm.routing.router import RESPONSES_MEMORY_SECS, Deployment, Router
from literllm.testing import FakeClock, FakeUpstream, Reply
from tests.support.configs import MASTER, config

TEAM = "vk-fallback-team-0001"
UPSTREAM_KEY = "sk-chat-only-secret-0001"
CHAT_ONLY = "https://chat-only.test/v1"
OPENAI = "https://api.openai.com/v1"

TOML = f"""
[general]
master_key = "{MASTER}"
max_retries = 0

[cooldown]
duration_secs = 60

[[models]]
name = "local"
provider_model = "openai/qwen-7b"
api_key = "{UPSTREAM_KEY}"
base_url = "{CHAT_ONLY}"

[[models]]
name = "gpt"
provider_model = "openai/gpt-4o"
api_key = "sk-openai-real-0002"
base_url = "{OPENAI}"

[[keys]]
key = "{TEAM}"
"""

NOT_FOUND = Reply(404, json={"detail": "Not Found"})


def _proxy(upstream: FakeUpstream, clock: FakeClock) -> Proxy:
    return Proxy.from_config(config(TOML), transport=upstream, clock=clock, environ={})


def _paths(upstream: FakeUpstream) -> list[str]:
    return [r.url for r in upstream.requests]


async def _create(proxy: Proxy, body: dict[str, Any]) -> Response:
    answer = await proxy.responses.create(body, api_key=TEAM)
    assert isinstance(answer, Response)
    return answer


def _state(proxy: Proxy, model: str) -> Any:
    [state] = [s for s in proxy.health().deployments if s.model == model]
    return state


@pytest.mark.parametrize("status", [404, 405])
async def test_a_chat_only_upstream_is_asked_again_translated_and_remembered(
    status: int, caplog: pytest.LogCaptureFixture
) -> None:
    upstream = FakeUpstream()  # unscripted requests: the mock answers chat completions
    upstream.script(Reply(status, json={"detail": "Not Found"}), url="/responses")
    clock = FakeClock()
    caplog.set_level(logging.INFO, logger="literllm")
    async with _proxy(upstream, clock) as proxy:
        first = await _create(proxy, {"model": "local", "input": "hello", "instructions": "Hi."})
        second = await _create(proxy, {"model": "local", "input": "again"})
        state = _state(proxy, "local")
    assert _paths(upstream) == [
        f"{CHAT_ONLY}/responses",
        f"{CHAT_ONLY}/chat/completions",
        f"{CHAT_ONLY}/chat/completions",  # the second request goes translated at once
    ]
    sent = upstream.bodies()[1]
    assert sent["messages"] == [
        {"role": "system", "content": "Hi."},
        {"role": "user", "content": "hello"},
    ]
    body = first.json()
    assert body["object"] == "response" and body["status"] == "completed"
    assert body["id"].startswith("resp_") and body["output"][0]["type"] == "message"
    assert second.json()["status"] == "completed"
    # one attempt, not a failure of the deployment
    assert first.headers["x-literllm-attempts"] == "1"
    assert state.state == "healthy" and not state.cooling_down
    logged = [r.getMessage() for r in caplog.records if "Responses API" in r.getMessage()]
    assert len(logged) == 1
    assert "local" in logged[0] and UPSTREAM_KEY not in caplog.text


async def test_the_memory_expires_so_an_upgraded_upstream_is_asked_natively() -> None:
    upstream = FakeUpstream()
    upstream.script(NOT_FOUND, url="/responses")
    clock = FakeClock()
    async with _proxy(upstream, clock) as proxy:
        await _create(proxy, {"model": "local", "input": "one"})
        clock.advance(RESPONSES_MEMORY_SECS - 1)
        await _create(proxy, {"model": "local", "input": "two"})
        clock.advance(2)
        # the upstream was upgraded: the mock now answers /responses natively
        third = await _create(proxy, {"model": "local", "input": "three"})
    assert _paths(upstream) == [
        f"{CHAT_ONLY}/responses",
        f"{CHAT_ONLY}/chat/completions",
        f"{CHAT_ONLY}/chat/completions",
        f"{CHAT_ONLY}/responses",
    ]
    assert third.json()["output"][0]["content"][0]["text"] == "echo: three"


async def test_a_stream_is_asked_again_translated_before_anything_is_sent() -> None:
    upstream = FakeUpstream()
    upstream.script(NOT_FOUND, url="/responses")
    async with _proxy(upstream, FakeClock()) as proxy:
        stream = await proxy.responses.create(
            {"model": "local", "input": "stream it", "stream": True}, api_key=TEAM
        )
        assert isinstance(stream, ChatStream)
        events = [json.loads(e.split(b"data: ", 1)[1]) async for e in stream]
        again = await proxy.responses.create(
            {"model": "local", "input": "more", "stream": True}, api_key=TEAM
        )
        assert isinstance(again, ChatStream)
        rest = [e async for e in again]
        state = _state(proxy, "local")
    assert _paths(upstream) == [
        f"{CHAT_ONLY}/responses",
        f"{CHAT_ONLY}/chat/completions",
        f"{CHAT_ONLY}/chat/completions",
    ]
    assert upstream.bodies()[1]["stream"] is True
    kinds = [e["type"] for e in events]
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    assert b"response.completed" in rest[-1]
    assert state.state == "healthy"


async def test_a_lost_previous_response_is_replaced_by_the_conversation() -> None:
    upstream = FakeUpstream()  # the mock serves the Responses API with stored responses
    async with _proxy(upstream, FakeClock()) as proxy:
        first = await _create(proxy, {"model": "gpt", "input": "one"})
        first_id = first.json()["id"]
        upstream.script(
            Reply(
                404,
                json={
                    "error": {
                        "message": f"Previous response with id '{first_id}' not found.",
                        "type": "invalid_request_error",
                        "param": "previous_response_id",
                        "code": "previous_response_not_found",
                    }
                },
            )
        )
        second = await _create(
            proxy, {"model": "gpt", "input": "two", "previous_response_id": first_id}
        )
        await _create(proxy, {"model": "gpt", "input": "three"})
    # all native: a lost previous response is no sign of an upstream without /responses
    assert _paths(upstream) == [f"{OPENAI}/responses"] * 4
    bodies = upstream.bodies()
    assert bodies[1]["previous_response_id"] == first_id
    retried = bodies[2]
    assert "previous_response_id" not in retried
    assert [i.get("role") for i in retried["input"]] == ["user", "assistant", "user"]
    assert retried["input"][-1] == {"type": "message", "role": "user", "content": "two"}
    assert second.headers["x-literllm-attempts"] == "1"
    assert second.json()["status"] == "completed"


async def test_a_lost_previous_response_at_a_chat_only_upstream_ends_translated() -> None:
    upstream = FakeUpstream()
    async with _proxy(upstream, FakeClock()) as proxy:
        first = await _create(proxy, {"model": "local", "input": "one"})  # native (mock)
        first_id = first.json()["id"]
        upstream.script(NOT_FOUND, NOT_FOUND, url="/responses")  # then downgraded
        second = await _create(
            proxy, {"model": "local", "input": "two", "previous_response_id": first_id}
        )
    assert _paths(upstream) == [
        f"{CHAT_ONLY}/responses",
        f"{CHAT_ONLY}/responses",
        f"{CHAT_ONLY}/responses",
        f"{CHAT_ONLY}/chat/completions",
    ]
    bodies = upstream.bodies()
    assert bodies[1]["previous_response_id"] == first_id
    assert "previous_response_id" not in bodies[2]
    assert [m["role"] for m in bodies[3]["messages"]] == ["user", "assistant", "user"]
    assert second.json()["previous_response_id"] == first_id


async def test_openais_own_404_reaches_the_client() -> None:
    upstream = FakeUpstream()
    error = {
        "error": {
            "message": "The model `gpt-4o` does not exist",
            "type": "invalid_request_error",
            "param": None,
            "code": "model_not_found",
        }
    }
    upstream.script(Reply(404, json=error), Reply(404, json=error))
    async with _proxy(upstream, FakeClock()) as proxy:
        with pytest.raises(UpstreamError) as caught:
            await proxy.responses.create({"model": "gpt", "input": "hi"}, api_key=TEAM)
        with pytest.raises(UpstreamError) as streamed:
            await proxy.responses.create(
                {"model": "gpt", "input": "hi", "stream": True}, api_key=TEAM
            )
        state = _state(proxy, "gpt")
    assert caught.value.status == 404 and streamed.value.status == 404
    assert "does not exist" in caught.value.message
    assert _paths(upstream) == [f"{OPENAI}/responses"] * 2
    assert state.state == "healthy"


@pytest.mark.parametrize(("status", "expected"), [(400, 400), (401, 502), (422, 400)])
async def test_other_statuses_are_not_asked_again(status: int, expected: int) -> None:
    upstream = FakeUpstream()
    upstream.script(Reply(status, json={"error": {"message": "no"}}), url="/responses")
    async with _proxy(upstream, FakeClock()) as proxy:
        with pytest.raises(UpstreamError) as caught:
            await proxy.responses.create({"model": "local", "input": "hi"}, api_key=TEAM)
        after = await _create(proxy, {"model": "local", "input": "later"})
    assert caught.value.status == expected
    # not remembered: the next request is native again
    assert _paths(upstream) == [f"{CHAT_ONLY}/responses"] * 2
    assert after.json()["output"][0]["content"][0]["text"] == "echo: later"


async def test_a_passed_previous_response_with_another_status_is_not_asked_again() -> None:
    upstream = FakeUpstream()
    async with _proxy(upstream, FakeClock()) as proxy:
        first = await _create(proxy, {"model": "local", "input": "one"})
        upstream.script(Reply(405, json={"detail": "Method Not Allowed"}), url="/responses")
        with pytest.raises(UpstreamError) as caught:
            await proxy.responses.create(
                {"model": "local", "input": "two", "previous_response_id": first.json()["id"]},
                api_key=TEAM,
            )
    assert caught.value.status == 400  # a 4xx the gateway does not know, as OpenAI maps it
    assert len(upstream.requests) == 2


async def test_a_server_error_still_counts_against_the_deployment() -> None:
    upstream = FakeUpstream()
    upstream.script(Reply(500, json={"error": {"message": "boom"}}), url="/responses")
    async with _proxy(upstream, FakeClock()) as proxy:
        with pytest.raises(UpstreamError) as caught:
            await proxy.responses.create({"model": "local", "input": "hi"}, api_key=TEAM)
        state = _state(proxy, "local")
    assert caught.value.status == 502
    assert _paths(upstream) == [f"{CHAT_ONLY}/responses"]
    assert state.cooling_down


async def test_chat_completions_are_untouched() -> None:
    upstream = FakeUpstream()
    upstream.script(NOT_FOUND, url="/chat/completions")
    async with _proxy(upstream, FakeClock()) as proxy:
        with pytest.raises(UpstreamError) as caught:
            await proxy.chat(
                {"model": "local", "messages": [{"role": "user", "content": "hi"}]}, api_key=TEAM
            )
    assert caught.value.status == 404
    assert _paths(upstream) == [f"{CHAT_ONLY}/chat/completions"]


async def test_a_lost_previous_response_in_a_stream_is_replaced_before_it_starts() -> None:
    upstream = FakeUpstream()
    async with _proxy(upstream, FakeClock()) as proxy:
        first = await _create(proxy, {"model": "gpt", "input": "one"})
        first_id = first.json()["id"]
        upstream.script(Reply(404, json={"error": {"message": "not found"}}))
        stream = await proxy.responses.create(
            {"model": "gpt", "input": "two", "previous_response_id": first_id, "stream": True},
            api_key=TEAM,
        )
        assert isinstance(stream, ChatStream)
        events = [json.loads(e.split(b"data: ", 1)[1]) async for e in stream]
    bodies = upstream.bodies()
    assert bodies[1]["previous_response_id"] == first_id
    assert "previous_response_id" not in bodies[2] and len(bodies[2]["input"]) == 3
    assert events[-1]["type"] == "response.completed"
    assert events[-1]["response"]["output"][0]["content"][0]["text"] == "echo: two"


def _inbound(router: Router | None, **body: Any) -> ResponsesInbound:
    return ResponsesInbound(
        {"model": "m", "input": "hi", **body},
        [],
        previous_source=None,
        response_id="resp_x",
        created_at=0,
        router=router,
    )


def _deployment(base_url: str) -> Deployment:
    target = Target(provider="openai", model="m", base_url=base_url, api_key="sk-secret")
    return Deployment(
        name="d", label="d", config=None, target=target, adapter=OpenAIAdapter(), timeout=10
    )


def test_the_inbound_decides_per_attempt_and_the_router_remembers() -> None:
    clock = FakeClock()
    router = Router({}, strategy="round_robin", cooldown_secs=None, clock=clock)
    local, openai = _deployment(CHAT_ONLY), _deployment(OPENAI)
    inbound = _inbound(router)
    inbound.begin(local)
    assert inbound.request(local.adapter, local.target, stream=False).url.endswith("/responses")
    assert not inbound.retry(local, local.target, 400)
    assert inbound.retry(local, local.target, 404)
    assert inbound.request(local.adapter, local.target, stream=False).url.endswith(
        "/chat/completions"
    )
    assert not inbound.retry(local, local.target, 404)  # once: the chat answer stands
    assert not router.serves_responses(local) and router.serves_responses(openai)
    # a later request: translated at once, until the memory expires
    later = _inbound(router)
    later.begin(local)
    assert later.request(local.adapter, local.target, stream=False).url.endswith(
        "/chat/completions"
    )
    clock.advance(RESPONSES_MEMORY_SECS)
    later.begin(local)
    assert later.request(local.adapter, local.target, stream=False).url.endswith("/responses")
    # OpenAI's own API: a 404 is an answer, not a sign of a chat-only server
    mine = _inbound(router)
    mine.begin(openai)
    mine.request(openai.adapter, openai.target, stream=False)
    assert not mine.retry(openai, openai.target, 404)
    assert router.serves_responses(openai)
