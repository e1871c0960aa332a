"""The official openai SDK against the real server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import openai
import pytest

from literllm import Proxy
from literllm.testing import FakeClock, FakeUpstream, Gate, Reply, StreamReply
from tests.support.configs import MASTER, MOCK_POOL, TEAM, config
from tests.support.openapi import validate
from tests.support.server import ServerThread


@pytest.fixture
def upstream() -> FakeUpstream:
    return FakeUpstream()


@pytest.fixture
def server(upstream: FakeUpstream) -> Iterator[ServerThread]:
    proxy = Proxy.from_config(
        config(MOCK_POOL + "\n[server]\nbody_limit_bytes = 4096\n"), transport=upstream, environ={}
    )
    with ServerThread(proxy) as running:
        yield running


def client(server: ServerThread, key: str = MASTER) -> openai.OpenAI:
    return server.track(
        openai.OpenAI(base_url=server.url + "/v1", api_key=key, max_retries=0, timeout=10)
    )


def test_chat_completion(server: ServerThread) -> None:
    answer = client(server).chat.completions.create(
        model="chat", messages=[{"role": "user", "content": "hello gateway"}]
    )
    assert answer.choices[0].message.content == "echo: hello gateway"
    assert answer.usage is not None and answer.usage.total_tokens > 0
    validate(answer.model_dump(mode="json", exclude_unset=True), "CreateChatCompletionResponse")


def test_stream_yields_chunks_and_usage_only_when_asked(server: ServerThread) -> None:
    chunks = list(
        client(server).chat.completions.create(
            model="chat", stream=True, messages=[{"role": "user", "content": "one two"}]
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "echo: one two"
    assert all(c.usage is None for c in chunks)
    for chunk in chunks:
        validate(
            chunk.model_dump(mode="json", exclude_unset=True), "CreateChatCompletionStreamResponse"
        )
    with_usage = list(
        client(server).chat.completions.create(
            model="chat",
            stream=True,
            stream_options={"include_usage": True},
            messages=[{"role": "user", "content": "one two"}],
        )
    )
    assert with_usage[-1].usage is not None and with_usage[-1].choices == []


def test_tool_calls(server: ServerThread) -> None:
    tools = [
        {
            "type": "function",
            "function": {
                "name": "lookup",
                "parameters": {
                    "type": "object",
                    "properties": {"query": {"type": "string", "minLength": 2}},
                    "required": ["query"],
                },
            },
        }
    ]
    answer = client(server).chat.completions.create(
        model="chat",
        tools=tools,
        tool_choice="required",
        messages=[{"role": "user", "content": "find it"}],
    )
    call = answer.choices[0].message.tool_calls[0]
    assert call.function.name == "lookup"
    assert call.function.arguments == '{"query":"aa"}'
    assert answer.choices[0].finish_reason == "tool_calls"


def test_embeddings_float_and_base64(server: ServerThread) -> None:
    result = client(server).embeddings.create(model="chat", input=["a", "b"])
    assert len(result.data) == 2 and len(result.data[0].embedding) == 16
    floats = client(server).embeddings.create(model="chat", input="a", encoding_format="float")
    assert floats.data[0].embedding == pytest.approx(result.data[0].embedding, abs=1e-5)


def test_models_lists_only_allowed(server: ServerThread) -> None:
    assert {m.id for m in client(server).models.list()} == {"chat", "upstream"}
    assert [m.id for m in client(server, TEAM).models.list()] == ["chat"]
    assert client(server).models.retrieve("chat").id == "chat"
    with pytest.raises(openai.NotFoundError):
        client(server, TEAM).models.retrieve("upstream")


def test_upstream_receives_provider_model_not_alias(
    server: ServerThread, upstream: FakeUpstream
) -> None:
    client(server).chat.completions.create(
        model="upstream", messages=[{"role": "user", "content": "hi"}]
    )
    request = upstream.requests[-1]
    assert request.url == "https://api.fake-openai.test/v1/chat/completions"
    assert upstream.bodies()[-1]["model"] == "gpt-4o"
    assert request.headers["authorization"] == "Bearer sk-upstream-secret-0003"


@pytest.mark.parametrize(
    ("call", "error", "status"),
    [
        (
            lambda c: c.chat.completions.create(
                model="nope", messages=[{"role": "user", "content": "x"}]
            ),
            openai.NotFoundError,
            404,
        ),
        (
            lambda c: c.chat.completions.create(model="chat", messages=[]),
            openai.BadRequestError,
            400,
        ),
        (
            lambda c: c.chat.completions.create(
                model="chat", messages=[{"role": "user", "content": "x" * 5000}]
            ),
            openai.APIStatusError,
            413,
        ),
    ],
)
def test_error_statuses(
    server: ServerThread, call: object, error: type[Exception], status: int
) -> None:
    with pytest.raises(error) as caught:
        call(client(server))  # type: ignore[operator]
    assert caught.value.status_code == status  # type: ignore[attr-defined]
    body = caught.value.response.json()  # type: ignore[attr-defined]
    validate(body, "ErrorResponse")
    assert set(body["error"]) == {"message", "type", "param", "code"}


def test_upstream_retry_after_reaches_the_sdk() -> None:
    upstream = FakeUpstream()
    upstream.script(*[Reply(429, headers={"retry-after": "9"})] * 20)
    proxy = Proxy.from_config(config(MOCK_POOL), transport=upstream, clock=FakeClock(), environ={})
    with ServerThread(proxy) as running, pytest.raises(openai.RateLimitError) as caught:
        client(running).chat.completions.create(
            model="chat", messages=[{"role": "user", "content": "hi"}]
        )
    assert len(upstream.requests) > 1  # retried before giving up
    assert caught.value.response.headers["retry-after"] == "9"
    validate(caught.value.response.json(), "ErrorResponse")


def test_auth_errors(server: ServerThread) -> None:
    with pytest.raises(openai.AuthenticationError):
        client(server, "wrong").models.list()
    with pytest.raises(openai.PermissionDeniedError):
        client(server, TEAM).chat.completions.create(
            model="upstream", messages=[{"role": "user", "content": "x"}]
        )


def test_raw_http_errors(server: ServerThread) -> None:
    headers = {"authorization": f"Bearer {MASTER}", "x-request-id": "req-keep-me"}
    with httpx.Client(base_url=server.url) as http:
        bad_json = http.post(
            "/v1/chat/completions",
            content=b"{nope",
            headers={**headers, "content-type": "application/json"},
        )
        assert bad_json.status_code == 400 and bad_json.headers["x-request-id"] == "req-keep-me"
        assert bad_json.json()["error"]["code"] == "invalid_json"
        form = http.post(
            "/v1/chat/completions",
            content=b"a=b",
            headers={**headers, "content-type": "application/x-www-form-urlencoded"},
        )
        assert form.status_code == 415
        assert http.get("/v1/nowhere", headers=headers).status_code == 404
        wrong = http.get("/v1/chat/completions", headers=headers)
        assert wrong.status_code == 405 and wrong.headers["allow"] == "POST"
        missing = http.post("/v1/chat/completions", json={"messages": []}, headers=headers)
        assert missing.status_code == 400 and missing.json()["error"]["param"] == "model"
        for response in (bad_json, form, wrong, missing):
            validate(response.json(), "ErrorResponse")
            assert response.headers["content-type"] == "application/json"


def test_stream_is_incremental(server: ServerThread, upstream: FakeUpstream) -> None:
    gate = Gate()
    first = {
        "id": "c1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gpt-4o",
        "choices": [
            {"index": 0, "delta": {"role": "assistant", "content": "first"}, "finish_reason": None}
        ],
    }
    last = {
        **first,
        "choices": [{"index": 0, "delta": {"content": " last"}, "finish_reason": "stop"}],
    }
    upstream.script(StreamReply([first, gate, last]))
    stream = client(server).chat.completions.create(
        model="upstream", stream=True, messages=[{"role": "user", "content": "x"}]
    )
    iterator = iter(stream)
    try:
        # The client holds the first chunk while the upstream is still held at the gate.
        assert next(iterator).choices[0].delta.content == "first"
        assert gate.reached.wait(5)
    finally:
        gate.open()
    assert next(iterator).choices[0].delta.content == " last"
    stream.close()


def test_client_disconnect_cancels_upstream(server: ServerThread, upstream: FakeUpstream) -> None:
    gate = Gate()
    first = {
        "id": "c1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gpt-4o",
        "choices": [{"index": 0, "delta": {"content": "first"}, "finish_reason": None}],
    }
    upstream.script(StreamReply([first, gate, first]))
    stream = client(server).chat.completions.create(
        model="upstream", stream=True, messages=[{"role": "user", "content": "x"}]
    )
    next(iter(stream))
    stream.close()
    assert upstream.stream_closed.wait(1.0), "upstream stream still open 1 s after disconnect"
    gate.open()
