"""Upstreams that misbehave on the wire: the gateway answers the client with a clean
error (or a clean retry), holds nothing, and logs no traceback.

The size caps themselves (oversized bodies and stream events) are tested against raw
servers in tests/core/transport/test_hostile_servers.py; here a gzip bomb goes through a
real gateway process."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from literllm import Proxy
from tests.support.badupstream import (
    BadUpstream,
    Behaviour,
    endless_stream,
    gzip_bomb,
    invalid_json,
    rate_limited,
    reset,
    slow_drip,
)
from tests.support.configs import MASTER, config
from tests.support.process import Gateways, gateways_fixture  # noqa: F401
from tests.support.server import ServerThread

HEADERS = {"authorization": f"Bearer {MASTER}"}
HELLO = [{"role": "user", "content": "hello"}]


@contextmanager
def gateway(behaviour: Behaviour, *, retries: int = 0, timeout: int = 600,
            model_timeout: int = 120) -> Iterator[tuple[BadUpstream, ServerThread]]:  # fmt: skip
    with BadUpstream(behaviour) as upstream:
        toml = f"""
[server]
request_timeout_secs = {timeout}

[general]
master_key = "{MASTER}"
max_retries = {retries}

[routing]
backoff_base_secs = 0.01
backoff_max_secs = 0.05

[[models]]
name = "gpt"
provider_model = "openai/gpt-4o"
api_key = "sk-upstream-bad-0001"
base_url = "{upstream.base_url}"
timeout_secs = {model_timeout}
"""
        proxy = Proxy.from_config(config(toml), environ={})
        with ServerThread(proxy) as server:
            yield upstream, server


def chat(server: ServerThread, **extra: Any) -> httpx.Response:
    return httpx.post(
        server.url + "/v1/chat/completions",
        json={"model": "gpt", "messages": HELLO, **extra},
        headers=HEADERS,
        timeout=30,
    )


def assert_clean_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert {"message", "type", "param", "code"} <= set(error)
    return error


def no_tracebacks(caplog: pytest.LogCaptureFixture) -> bool:
    return not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


def test_a_connection_reset_is_a_retryable_502(caplog: pytest.LogCaptureFixture) -> None:
    with gateway(reset, retries=2) as (upstream, server):
        assert_clean_error(chat(server), 502)
        assert upstream.requests == 3  # retried like any connection error
    assert no_tracebacks(caplog)


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_invalid_json_is_a_502_after_retries(
    caplog: pytest.LogCaptureFixture, stream: bool
) -> None:
    with gateway(invalid_json, retries=1) as (upstream, server):
        assert_clean_error(chat(server, stream=stream), 502)
        assert upstream.requests == 2
    assert no_tracebacks(caplog)


def test_an_endless_stream_is_cut_at_request_timeout(caplog: pytest.LogCaptureFixture) -> None:
    with gateway(endless_stream, timeout=1) as (upstream, server):
        started = time.monotonic()
        response = chat(server, stream=True)
        assert time.monotonic() - started < 3
        events = [line for line in response.text.splitlines() if line.startswith("data: ")]
        assert events[-1] == "data: [DONE]" and '"request_timeout"' in events[-2]
        assert upstream.closed.wait(1.0)
    assert no_tracebacks(caplog)


def test_a_slow_drip_answer_times_out_with_504(caplog: pytest.LogCaptureFixture) -> None:
    with gateway(slow_drip, model_timeout=1) as (upstream, server):
        started = time.monotonic()
        error = assert_clean_error(chat(server), 504)
        assert time.monotonic() - started < 3
        assert error["type"] == "timeout"
        assert upstream.closed.wait(2.0)
    assert no_tracebacks(caplog)


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM in /proc/<pid>/status")


def test_a_gzip_bomb_does_not_balloon_memory(gateways: Gateways) -> None:
    with BadUpstream(gzip_bomb) as upstream:
        gateway = gateways.start(
            f"""
[server]
host = "127.0.0.1"

[general]
master_key = "{MASTER}"
max_retries = 0

[[models]]
name = "gpt"
provider_model = "openai/gpt-4o"
api_key = "sk-upstream-bad-0001"
base_url = "{upstream.base_url}"
"""
        )
        before = peak_rss_mb(gateway.pid)
        response = httpx.post(
            gateway.url + "/v1/chat/completions",
            json={"model": "gpt", "messages": HELLO},
            headers=HEADERS,
            timeout=30,
        )
        assert response.status_code == 502, response.text[:200]
        grown = peak_rss_mb(gateway.pid) - before
    assert "Traceback" not in gateway.stderr()
    assert grown < 48, f"100 MB inflated from 100 kB raised the peak RSS by {grown:.0f} MB"


def test_429_with_retry_after_is_waited_and_retried(caplog: pytest.LogCaptureFixture) -> None:
    with gateway(rate_limited, retries=1) as (upstream, server):
        started = time.monotonic()
        response = chat(server)
        assert response.status_code == 200, response.text
        assert upstream.requests == 2
        assert time.monotonic() - started >= 0.9  # Retry-After: 1 was honoured
    assert no_tracebacks(caplog)
