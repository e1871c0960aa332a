"""Hooks and guardrails over real HTTP: the openai SDK against the server on 127.0.0.1,
and a user-written hook loaded from config by a real `liter-llm api` process."""

from __future__ import annotations

import asyncio
import json
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest

from literllm import Proxy
from literllm.hooks import Hook, RequestContext, RequestRejected
from literllm.testing import FakeUpstream, Reply, StreamReply
from tests.core.hooks.sample_hooks import Tagger
from tests.core.hooks.test_hooks_inprocess import MODELS, answer, chunk
from tests.support.configs import MASTER, config
from tests.support.process import Gateway, run_cli
from tests.support.server import ServerThread

EMAIL = "jane.doe@example.com"
HELLO = [{"role": "user", "content": "hello"}]
COMPAT = """
[[models]]
name = "compat"
provider_model = "openrouter/openai/gpt-4o"
api_key = "sk-upstream-compat-0001"
base_url = "https://compat.test/v1"
"""
GUARDRAILS = """
[[guardrails]]
type = "patterns"
models = ["gpt", "compat"]
"""


class Halt(Hook):
    """Refuses a stream mid-way when a chunk says "halt"."""

    async def on_stream_chunk(
        self, ctx: RequestContext, chunk: dict[str, Any]
    ) -> list[dict[str, Any]] | None:
        if "halt" in str(chunk.get("choices")):
            raise RequestRejected("halted mid-stream", status=403)
        return None


class Crash(Hook):
    async def before_request(self, ctx: RequestContext) -> None:
        if "crash" in str(ctx.body.get("messages", ctx.body.get("input"))):
            raise RuntimeError("hook bug with a detail the client must not see")


@pytest.fixture
def upstream() -> FakeUpstream:
    return FakeUpstream()


class Errors(Hook):
    def __init__(self) -> None:
        self.errors: list[tuple[str, str]] = []

    async def on_error(self, ctx: RequestContext, error: BaseException) -> None:
        self.errors.append((ctx.kind, type(error).__name__))


@pytest.fixture
def tagger() -> Tagger:
    return Tagger(forbidden="weather", status=403)


@pytest.fixture
def errors() -> Errors:
    return Errors()


@pytest.fixture
def server(upstream: FakeUpstream, tagger: Tagger, errors: Errors) -> Iterator[ServerThread]:
    proxy = Proxy.from_config(
        config(MODELS + COMPAT + GUARDRAILS),
        transport=upstream,
        environ={},
        hooks=[tagger, Crash(), Halt(), errors],
    )
    with ServerThread(proxy) as running:
        yield running


@pytest.fixture
def sdk(server: ServerThread) -> Iterator[openai.OpenAI]:
    with client(server) as opened:
        yield opened


@pytest.fixture
def claude(server: ServerThread) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=server.url, api_key=MASTER, max_retries=0) as opened:
        yield opened


def client(server: ServerThread) -> openai.OpenAI:
    return server.track(
        openai.OpenAI(base_url=server.url + "/v1", api_key=MASTER, max_retries=0, timeout=10)
    )


def post(server: ServerThread, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(
        server.url + "/v1/chat/completions",
        json=body,
        headers={"authorization": f"Bearer {MASTER}"},
        timeout=10,
    )


def test_json_chat_is_modified_both_ways(upstream: FakeUpstream, sdk: openai.OpenAI) -> None:
    upstream.script(Reply(json=answer(f"mail {EMAIL}")))
    result = sdk.chat.completions.create(
        model="gpt", messages=[{"role": "user", "content": f"I am {EMAIL}"}]
    )
    assert result.choices[0].message.content == "mail [EMAIL]"
    sent = upstream.bodies()[0]["messages"]
    assert sent[0] == {"role": "system", "content": "tagged"}
    assert sent[1]["content"] == "I am [EMAIL]"


def test_rejection_is_an_openai_error_with_the_chosen_status(
    server: ServerThread, sdk: openai.OpenAI
) -> None:
    response = post(server, {"model": "chat", "messages": [{"role": "user", "content": "weather"}]})
    assert response.status_code == 403
    assert response.json() == {
        "error": {
            "message": "this topic is not allowed here",
            "type": "invalid_request_error",
            "param": None,
            "code": "content_blocked",
        }
    }
    with pytest.raises(openai.PermissionDeniedError):
        sdk.chat.completions.create(model="chat", messages=[{"role": "user", "content": "weather"}])


def test_failing_hook_is_a_500_without_its_reason(server: ServerThread) -> None:
    response = post(server, {"model": "chat", "messages": [{"role": "user", "content": "crash"}]})
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["code"] == "hook_failed" and error["type"] == "server_error"
    assert "detail" not in error["message"]


def test_stream_is_redacted_across_chunk_boundaries(
    upstream: FakeUpstream, sdk: openai.OpenAI
) -> None:
    text = f"write to {EMAIL} please"
    events = [chunk("", role=True), *[chunk(text[i : i + 3]) for i in range(0, len(text), 3)]]
    upstream.script(StreamReply([*events, chunk(None, "stop")]))
    chunks = list(
        sdk.chat.completions.create(
            model="gpt", stream=True, messages=[{"role": "user", "content": "?"}]
        )
    )
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert streamed == "write to [EMAIL] please"
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_stream_rejected_before_it_opens(server: ServerThread) -> None:
    body = {"model": "chat", "stream": True, "messages": [{"role": "user", "content": "weather"}]}
    response = post(server, body)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "content_blocked"


# -- other inbound protocols ---------------------------------------------------------


def test_messages_are_redacted_both_ways_and_rejected_anthropic_style(
    upstream: FakeUpstream, claude: anthropic.Anthropic
) -> None:
    upstream.script(Reply(json=answer(f"mail {EMAIL}")))
    message = claude.messages.create(
        model="gpt", max_tokens=50, messages=[{"role": "user", "content": f"I am {EMAIL}"}]
    )
    assert message.content[0].text == "mail [EMAIL]"  # type: ignore[union-attr]
    assert "[EMAIL]" in json.dumps(upstream.bodies()[0]["messages"])
    assert EMAIL not in json.dumps(upstream.bodies()[0])
    with pytest.raises(anthropic.PermissionDeniedError) as caught:
        claude.messages.create(
            model="gpt", max_tokens=50, messages=[{"role": "user", "content": "weather"}]
        )
    assert caught.value.status_code == 403
    assert caught.value.body == {
        "type": "error",
        "error": {"type": "permission_error", "message": "this topic is not allowed here"},
    }


def test_responses_are_redacted_both_ways_and_rejected_openai_style(
    server: ServerThread, upstream: FakeUpstream, sdk: openai.OpenAI
) -> None:
    upstream.script(Reply(json=answer(f"mail {EMAIL}")))
    result = sdk.responses.create(model="compat", input=f"I am {EMAIL}", store=False)
    assert result.output_text == "mail [EMAIL]"
    assert EMAIL not in json.dumps(upstream.bodies()[0])
    with pytest.raises(openai.PermissionDeniedError) as caught:
        sdk.responses.create(model="compat", input="the weather?", store=False)
    assert caught.value.body == {
        "message": "this topic is not allowed here",
        "type": "invalid_request_error",
        "param": None,
        "code": "content_blocked",
    }


def sse_events(server: ServerThread, path: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    headers = {"authorization": f"Bearer {MASTER}"}
    with httpx.stream("POST", server.url + path, json=body, headers=headers, timeout=10) as r:
        assert r.status_code == 200
        text = r.read().decode()
    return [
        json.loads(line[6:])
        for line in text.splitlines()
        if line.startswith("data: ") and line != "data: [DONE]"
    ]


def split_stream(text: str, size: int = 3) -> StreamReply:
    pieces = [chunk(text[i : i + size]) for i in range(0, len(text), size)]
    return StreamReply([chunk("", role=True), *pieces, chunk(None, "stop")])


def test_messages_stream_is_redacted_across_chunk_boundaries(
    upstream: FakeUpstream, claude: anthropic.Anthropic
) -> None:
    upstream.script(split_stream(f"write to {EMAIL} please"))
    with claude.messages.stream(
        model="gpt", max_tokens=50, messages=[{"role": "user", "content": "?"}]
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "write to [EMAIL] please"
    assert final.stop_reason == "end_turn"


def test_messages_stream_rejected_mid_way_ends_with_an_anthropic_error_event(
    server: ServerThread, upstream: FakeUpstream, claude: anthropic.Anthropic
) -> None:
    upstream.script(split_stream("one two halt three", 5))
    body = {"model": "gpt", "max_tokens": 50, "stream": True, "messages": HELLO}
    events = sse_events(server, "/v1/messages", body)
    assert events[0]["type"] == "message_start"
    assert events[-1] == {
        "type": "error",
        "error": {"type": "permission_error", "message": "halted mid-stream"},
    }
    upstream.script(split_stream("one two halt three", 5))
    with (
        pytest.raises(anthropic.APIStatusError),
        claude.messages.stream(model="gpt", max_tokens=50, messages=HELLO) as stream,
    ):
        "".join(stream.text_stream)


def test_responses_stream_is_redacted_across_chunk_boundaries(
    upstream: FakeUpstream, sdk: openai.OpenAI
) -> None:
    upstream.script(split_stream(f"write to {EMAIL} please"))
    with sdk.responses.stream(model="compat", input="?", store=False) as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(deltas) == "write to [EMAIL] please"
    assert final.output_text == "write to [EMAIL] please"


def test_responses_stream_rejected_mid_way_has_an_error_event_in_sequence(
    server: ServerThread, upstream: FakeUpstream
) -> None:
    upstream.script(split_stream("one two halt three", 5))
    body = {"model": "compat", "input": "?", "stream": True, "store": False}
    events = sse_events(server, "/v1/responses", body)
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    assert events[-1]["type"] == "error"
    assert events[-1]["code"] == "content_blocked"
    assert events[-1]["message"] == "halted mid-stream"


def test_on_complete_and_on_error_over_http_for_every_protocol(
    server: ServerThread, upstream: FakeUpstream, tagger: Tagger, errors: Errors
) -> None:
    upstream.script(
        Reply(json=answer("a")),
        split_stream("b"),
        Reply(json=answer("c")),
        split_stream("d"),
        Reply(json=answer("e")),
        split_stream("f"),
        Reply(status=400, json={"error": {"message": "bad upstream request"}}),
    )
    headers = {"authorization": f"Bearer {MASTER}"}
    chat = {"model": "gpt", "messages": HELLO}
    message = {"model": "gpt", "max_tokens": 9, "messages": HELLO}
    response = {"model": "compat", "input": "hello", "store": False}
    for path, body in (
        ("/v1/chat/completions", chat),
        ("/v1/chat/completions", {**chat, "stream": True}),
        ("/v1/messages", message),
        ("/v1/messages", {**message, "stream": True}),
        ("/v1/responses", response),
        ("/v1/responses", {**response, "stream": True}),
        ("/v1/chat/completions", chat),
    ):
        httpx.post(server.url + path, json=body, headers=headers, timeout=10).read()
    assert server.loop is not None
    asyncio.run_coroutine_threadsafe(server.proxy.drain_hooks(), server.loop).result(10)
    done = [(c.kind, c.status, c.stream) for c in tagger.completions]
    assert done == [
        ("chat", 200, False),
        ("chat", 200, True),
        ("messages", 200, False),
        ("messages", 200, True),
        ("responses", 200, False),
        ("responses", 200, True),
        ("chat", 400, False),
    ]
    assert all(c.key == "master" and c.usage is not None for c in tagger.completions[:6])
    assert errors.errors == [("chat", "UpstreamError")]


def response_json(text: str) -> dict[str, Any]:
    """An OpenAI Responses answer (the gpt deployment takes Responses natively)."""
    item = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }
    usage = {"input_tokens": 5, "output_tokens": 3, "total_tokens": 8}
    return {
        "id": "resp_upstream1",
        "object": "response",
        "status": "completed",
        "model": "gpt-4o",
        "output": [item],
        "usage": usage,
    }


def test_native_responses_are_redacted_both_ways_and_stored_redacted(
    server: ServerThread, upstream: FakeUpstream
) -> None:
    upstream.script(Reply(json=response_json(f"mail {EMAIL}")))
    result = client(server).responses.create(model="gpt", input=f"I am {EMAIL}")
    assert result.output_text == "mail [EMAIL]"
    assert upstream.requests[0].url.endswith("/responses")
    assert upstream.bodies()[0]["input"] == "I am [EMAIL]"
    # the stored response is what the client got, redacted
    stored = client(server).responses.retrieve(result.id)
    assert stored.output_text == "mail [EMAIL]"


# -- a real `liter-llm api` process ----------------------------------------------------

USER_HOOK = """
import json
from literllm.hooks import Hook, RequestRejected


class Audit(Hook):
    def __init__(self, log_path, banned):
        self.log_path = log_path
        self.banned = banned

    async def before_request(self, ctx):
        if self.banned in json.dumps(ctx.body):
            raise RequestRejected("banned word", status=451, code="banned")

    async def after_response(self, ctx, body):
        body["choices"][0]["message"]["content"] += " [audited]"

    async def on_complete(self, ctx, completion):
        with open(self.log_path, "a") as out:
            out.write(json.dumps({"status": completion.status, "model": completion.model,
                                  "key": completion.key}) + "\\n")


def make(log_path, banned="forbidden"):
    return Audit(log_path, banned)
"""


def gateway_config(tmp_path: Path, path: str) -> Path:
    toml = tmp_path / "liter-llm-proxy.toml"
    toml.write_text(
        textwrap.dedent(f"""\
        [general]
        master_key = "{MASTER}"

        [[models]]
        name = "chat"
        provider_model = "mock/echo"

        [[hooks]]
        path = "{path}"
        on = ["before_request", "after_response", "on_complete"]

        [hooks.settings]
        log_path = "{tmp_path / "audit.jsonl"}"
        """)
    )
    return toml


def test_user_hook_from_config_in_a_real_process(tmp_path: Path) -> None:
    (tmp_path / "myhooks.py").write_text(USER_HOOK)
    toml = gateway_config(tmp_path, "myhooks:make")
    gateway = Gateway(toml, [], workdir=tmp_path, env={"PYTHONPATH": str(tmp_path)}).start()
    sdk = openai.OpenAI(base_url=gateway.url + "/v1", api_key=MASTER, max_retries=0, timeout=10)
    try:
        result = sdk.chat.completions.create(
            model="chat", messages=[{"role": "user", "content": "hello"}]
        )
        assert result.choices[0].message.content == "echo: hello [audited]"
        with pytest.raises(openai.APIStatusError) as caught:
            sdk.chat.completions.create(
                model="chat", messages=[{"role": "user", "content": "forbidden"}]
            )
        assert caught.value.status_code == 451
        assert caught.value.body == {
            "message": "banned word",
            "type": "invalid_request_error",
            "param": None,
            "code": "banned",
        }
    finally:
        sdk.close()
        gateway.stop()
    lines = [json.loads(x) for x in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert {"status": 200, "model": "chat", "key": "master"} in lines
    assert {"status": 451, "model": "chat", "key": "master"} in lines


def test_bad_hook_path_stops_startup_with_file_and_line(tmp_path: Path) -> None:
    toml = gateway_config(tmp_path, "myhooks:nothing_here")
    (tmp_path / "myhooks.py").write_text(USER_HOOK)
    result = run_cli("api", "--config", str(toml), env={"PYTHONPATH": str(tmp_path)})
    assert result.returncode != 0
    assert f"{toml}:9:1:" in result.stderr
    assert 'has no attribute "nothing_here"' in result.stderr


def test_native_anthropic_stream_is_redacted_for_the_anthropic_sdk() -> None:
    from tests.core.hooks.test_hook_streams import CLAUDE, anthropic_events

    upstream = FakeUpstream()
    upstream.script(anthropic_events(f"write to {EMAIL} please", 4))
    proxy = Proxy.from_config(
        config(MODELS + CLAUDE + '\n[[guardrails]]\ntype = "patterns"\n'),
        transport=upstream,
        environ={},
    )
    with (
        ServerThread(proxy) as running,
        anthropic.Anthropic(base_url=running.url, api_key=MASTER, max_retries=0) as claude,
        claude.messages.stream(model="claude", max_tokens=50, messages=HELLO) as stream,
    ):
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert upstream.requests[0].url.endswith("/messages")  # passed through natively
    assert text == "write to [EMAIL] please"
    assert [b.type for b in final.content] == ["thinking", "text"]
    assert final.stop_reason == "end_turn"
