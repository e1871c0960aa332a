"""A request's whole lifetime is bounded and watched: the stream deadline, the client's
disconnect, and an invalid first stream chunk (real server, real upstream sockets)."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from literllm import Proxy
from tests.support.badupstream import BadUpstream, Behaviour, endless_stream, hang, invalid_json
from tests.support.configs import MASTER, config
from tests.support.server import ServerThread

HEADERS = {"authorization": f"Bearer {MASTER}"}
HELLO = [{"role": "user", "content": "hello"}]


def toml(base_url: str, *, timeout: int = 600, extra: str = "") -> str:
    return f"""
[server]
request_timeout_secs = {timeout}

[general]
master_key = "{MASTER}"
max_retries = 0

[[models]]
name = "gpt"
provider_model = "openai/gpt-4o"
api_key = "sk-upstream-life-0001"
base_url = "{base_url}"
{extra}
"""


@contextmanager
def gateway(behaviour: Behaviour, **options: Any) -> Iterator[tuple[BadUpstream, ServerThread]]:
    with BadUpstream(behaviour) as upstream:
        proxy = Proxy.from_config(config(toml(upstream.base_url, **options)), environ={})
        with ServerThread(proxy) as server:
            yield upstream, server


def spent(server: ServerThread) -> float:
    snapshot = httpx.get(server.url + "/admin/spend", headers=HEADERS).json()
    return float(snapshot["global"]["spend"])


def sse_events(response: httpx.Response, within: float = 5.0) -> list[str]:
    """The stream's events, read for at most `within` seconds (bounded: a stream that
    never ends fails the test instead of hanging it)."""
    deadline = time.monotonic() + within
    events = []
    for line in response.iter_lines():
        if line.startswith("data: "):
            events.append(line[6:])
        if time.monotonic() > deadline:
            break
    return events


# -- request_timeout_secs bounds a whole stream ----------------------------------------


def test_an_endless_stream_ends_at_request_timeout_with_an_error_event() -> None:
    with gateway(endless_stream, timeout=1) as (upstream, server):
        started = time.monotonic()
        with httpx.stream(
            "POST",
            server.url + "/v1/chat/completions",
            json={"model": "gpt", "messages": HELLO, "stream": True},
            headers=HEADERS,
            timeout=10,
        ) as response:
            events = sse_events(response)
        elapsed = time.monotonic() - started
        assert 1.0 <= elapsed < 3.0
        assert events[-1] == "[DONE]"
        error = json.loads(events[-2])["error"]
        assert error["type"] == "timeout" and error["code"] == "request_timeout"
        relayed = len(events) - 2
        assert relayed >= 5
        assert upstream.closed.wait(1.0)  # the upstream stream was cancelled
        # charged what was relayed: the prompt estimate and about a token a chunk
        assert spent(server) > 0


# -- the client's disconnect, streaming or not ------------------------------------------


def raw_post(port: int, body: dict[str, Any], path: str = "/v1/chat/completions") -> socket.socket:
    payload = json.dumps(body).encode()
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n".encode()
        + f"Authorization: Bearer {MASTER}\r\nContent-Length: {len(payload)}\r\n\r\n".encode()
        + payload
    )
    return sock


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_a_client_leaving_cancels_a_hanging_upstream_within_a_second(stream: bool) -> None:
    with gateway(hang) as (upstream, server):
        sock = raw_post(server.port, {"model": "gpt", "messages": HELLO, "stream": stream})
        deadline = time.monotonic() + 5
        while upstream.requests == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.5)
        sock.close()
        assert upstream.closed.wait(1.0), "the upstream call outlived the client by > 1 s"
        assert spent(server) == 0.0  # the upstream produced nothing: nothing is charged


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/messages", {"model": "gpt", "max_tokens": 10, "messages": HELLO}),
        ("/v1/responses", {"model": "gpt", "input": "hello"}),
    ],
    ids=["messages", "responses"],
)
def test_the_other_protocols_watch_the_disconnect_too(path: str, body: dict[str, Any]) -> None:
    with gateway(hang) as (upstream, server):
        sock = raw_post(server.port, body, path)
        deadline = time.monotonic() + 5
        while upstream.requests == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert upstream.requests == 1
        time.sleep(0.5)
        sock.close()
        assert upstream.closed.wait(1.0)
        assert spent(server) == 0.0


def test_a_cancelled_stream_is_charged_what_was_relayed() -> None:
    with gateway(endless_stream) as (upstream, server):
        sock = raw_post(server.port, {"model": "gpt", "messages": HELLO, "stream": True})
        received = b""
        while received.count(b"data: ") < 10:
            received += sock.recv(65536)
        sock.close()
        assert upstream.closed.wait(1.0)
        deadline = time.monotonic() + 5
        while spent(server) == 0.0 and time.monotonic() < deadline:
            time.sleep(0.02)
        charged = spent(server)
        # gpt-4o: $2.50 / M input, $10 / M output; a prompt of a few tokens and at least
        # the 10 chunks the client saw, at most the chunks the upstream sent
        assert 10 * 10e-6 < charged <= (upstream.chunks_sent + 1) * 10e-6 + 50 * 2.5e-6


# -- an invalid first stream chunk fails over like the same fault without streaming ------


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_an_invalid_first_chunk_falls_back_like_an_invalid_json_answer(stream: bool) -> None:
    extra = 'fallbacks = ["backup"]\n\n[[models]]\nname = "backup"\nprovider_model = "mock/echo"\n'
    with gateway(invalid_json, extra=extra) as (upstream, server):
        response = httpx.post(
            server.url + "/v1/chat/completions",
            json={"model": "gpt", "messages": HELLO, "stream": stream},
            headers=HEADERS,
            timeout=10,
        )
        assert response.status_code == 200, response.text
        assert response.headers["x-literllm-route"].startswith("backup")
        assert upstream.requests == 1
