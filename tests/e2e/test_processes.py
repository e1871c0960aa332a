"""`liter-llm api` as operators run it: real processes, real signals, real sockets."""

from __future__ import annotations

import signal
import socket
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from literllm.governance.ratelimit import estimate_prompt_tokens
from literllm.pricing import Pricing
from tests.support.process import (
    Gateway,
    Gateways,
    descendants,
    gateways_fixture,  # noqa: F401
    serving_pids,
)
from tests.support.services import HttpUpstream, free_port

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "examples" / "quickstart.toml"
HELLO = {"model": "chat", "messages": [{"role": "user", "content": "hello"}]}


def bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


def chat(url: str, key: str, body: dict[str, Any] | None = None) -> httpx.Response:
    return httpx.post(
        f"{url}/v1/chat/completions", json=body or HELLO, headers=bearer(key), timeout=10
    )


def refuses_connections(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return False
    except ConnectionRefusedError:
        return True


def wait_until(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


def sse_data(lines: list[str]) -> list[str]:
    return [line.removeprefix("data: ") for line in lines if line.startswith("data: ")]


def upstream_toml(base_url: str, *, extra: str = "") -> str:
    return f"""
[server]
host = "127.0.0.1"

[general]
master_key = "sk-master-proc-0001"
enable_cost_tracking = true

[[models]]
name = "gpt"
provider_model = "openai/gpt-4o"
api_key = "sk-upstream-proc-0002"
base_url = "{base_url}"
{extra}
"""


# -- start, flags, servers ------------------------------------------------------------


def test_quickstart_serves_its_first_request(gateways: Gateways) -> None:
    gateway = gateways.start(QUICKSTART)
    response = chat(gateway.url, "vk-local-demo")
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"] == "echo: hello"
    assert response.headers["x-request-id"]
    assert gateway.returncode is None


PRECEDENCE = """
[server]
host = "127.0.0.1"
port = {port}

[general]
{master}

[[models]]
name = "chat"
provider_model = "mock/echo"
"""
FILE_KEY = "sk-from-file-0001"
FLAG_KEY = "sk-from-flag-0002"
ENV_KEY = "sk-from-env-0003"


def models_status(gateway: Gateway, key: str) -> int:
    return httpx.get(f"{gateway.url}/v1/models", headers=bearer(key), timeout=10).status_code


def test_flags_override_the_file(gateways: Gateways) -> None:
    file_port = free_port()
    text = PRECEDENCE.format(port=file_port, master=f'master_key = "{FILE_KEY}"')
    gateway = gateways.start(
        text, "--master-key", FLAG_KEY, env={"LITER_LLM_MASTER_KEY": ENV_KEY}
    )  # the helper passes --port with a free port of its own
    assert gateway.port != file_port
    assert models_status(gateway, FLAG_KEY) == 200
    assert models_status(gateway, FILE_KEY) == 401
    assert models_status(gateway, ENV_KEY) == 401
    assert refuses_connections(file_port)
    gateway.stop()
    output = gateway.stdout() + gateway.stderr()
    assert "config:" in output  # the startup summary was printed...
    for key in (FLAG_KEY, FILE_KEY, ENV_KEY):
        assert key not in output  # ...with every key redacted


def test_without_flags_the_file_wins(gateways: Gateways) -> None:
    file_port = free_port()
    text = PRECEDENCE.format(port=file_port, master=f'master_key = "{FILE_KEY}"')
    gateway = gateways.start(text, port=file_port, env={"LITER_LLM_MASTER_KEY": ENV_KEY})
    assert "--port" not in gateway.command() and "--master-key" not in gateway.command()
    assert models_status(gateway, FILE_KEY) == 200
    assert models_status(gateway, ENV_KEY) == 401


def test_master_key_from_the_environment_when_neither_sets_one(gateways: Gateways) -> None:
    gateway = gateways.start(
        PRECEDENCE.format(port=0, master=""), env={"LITER_LLM_MASTER_KEY": ENV_KEY}
    )
    assert models_status(gateway, ENV_KEY) == 200
    assert models_status(gateway, FILE_KEY) == 401


def test_hypercorn_serves_chat_and_streams(gateways: Gateways) -> None:
    gateway = gateways.start(QUICKSTART, "--server", "hypercorn")
    response = chat(gateway.url, "vk-local-demo")
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"] == "echo: hello"
    with httpx.stream(
        "POST",
        f"{gateway.url}/v1/chat/completions",
        json={**HELLO, "stream": True},
        headers=bearer("vk-local-demo"),
        timeout=10,
    ) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        events = sse_data(list(stream.iter_lines()))
    assert events[-1] == "[DONE]"
    assert len(events) >= 3
    assert "hypercorn" in gateway.command()
    gateway.terminate()
    assert gateway.wait(timeout=20) == 0, gateway.stderr()[-2000:]
    assert "Traceback" not in gateway.stderr()


# -- SIGTERM drains ---------------------------------------------------------------------


@pytest.mark.parametrize("server", ["uvicorn", "hypercorn"])
def test_sigterm_drains_a_stream_in_progress(gateways: Gateways, server: str) -> None:
    with HttpUpstream(hold_streams=True) as upstream:
        gateway = gateways.start(upstream_toml(upstream.base_url), "--server", server)
        body = {"model": "gpt", "messages": [{"role": "user", "content": "hi"}], "stream": True}
        with (
            httpx.Client(timeout=30) as client,
            client.stream(
                "POST",
                f"{gateway.url}/v1/chat/completions",
                json=body,
                headers=bearer("sk-master-proc-0001"),
            ) as stream,
        ):
            assert stream.status_code == 200
            lines = stream.iter_lines()
            first = next(line for line in lines if line.startswith("data: "))
            assert "first " in first  # the upstream now holds the rest until released

            gateway.terminate()
            wait_until(lambda: refuses_connections(gateway.port), 10, "the listener to close")
            assert gateway.returncode is None, "exited while a stream was still in flight"

            upstream.release()
            rest = sse_data(list(lines))
        assert rest[-1] == "[DONE]"
        assert any('"second"' in event for event in rest)
        assert not any('"error"' in event for event in rest)
        assert gateway.wait(timeout=20) == 0, gateway.stderr()[-2000:]
        assert "Traceback" not in gateway.stderr()


# -- durable spend ----------------------------------------------------------------------

PAID_BODY: dict[str, Any] = {
    "model": "gpt",
    "messages": [{"role": "user", "content": "what does it cost?"}],
    "max_tokens": 20,
}


def paid_upstream() -> HttpUpstream:
    """Usage equal to the gateway's own reservation: real cost == reserved cost."""
    return HttpUpstream(
        prompt_tokens=estimate_prompt_tokens(PAID_BODY), completion_tokens=PAID_BODY["max_tokens"]
    )


def request_cost() -> float:
    price = Pricing.load().price("openai/gpt-4o")
    assert price is not None and price.input > 0 and price.output > 0
    return price.max_cost(estimate_prompt_tokens(PAID_BODY), PAID_BODY["max_tokens"])


def test_spend_survives_sigkill_on_sqlite(gateways: Gateways, tmp_path: Path) -> None:
    cost = request_cost()
    keys = f"""
[[keys]]
key = "vk-durable-budget-0003"
description = "durable"
budget_limit = {3.5 * cost!r}

[state]
backend = "sqlite"

[state.backend_config]
path = "{tmp_path / "state.db"}"
"""
    with paid_upstream() as upstream:
        text = upstream_toml(upstream.base_url, extra=keys)
        first = gateways.start(text)
        for _ in range(3):
            response = chat(first.url, "vk-durable-budget-0003", PAID_BODY)
            assert response.status_code == 200, response.text
            assert float(response.headers["x-literllm-response-cost"]) == pytest.approx(cost)
        before = httpx.get(
            f"{first.url}/admin/keys", headers=bearer("sk-master-proc-0001"), timeout=10
        ).json()["data"]
        first.signal(signal.SIGKILL)
        assert first.wait(timeout=10) == -signal.SIGKILL

        second = gateways.start(text)
        listing = httpx.get(
            f"{second.url}/admin/keys", headers=bearer("sk-master-proc-0001"), timeout=10
        )
        assert listing.status_code == 200, listing.text
        assert listing.json()["data"] == before  # the same spend, window and budget
        (entry,) = listing.json()["data"]
        assert entry["description"] == "durable"
        assert entry["spend"] == pytest.approx(3 * cost)
        assert entry["remaining_budget"] == pytest.approx(0.5 * cost)

        refused = chat(second.url, "vk-durable-budget-0003", PAID_BODY)
        assert refused.status_code == 402, refused.text
        assert refused.json()["error"]["type"] == "budget_exceeded"
        assert len(upstream.requests) == 3


# -- workers ----------------------------------------------------------------------------


def test_two_workers_on_sqlite_both_serve(gateways: Gateways, tmp_path: Path) -> None:
    text = f"""
[server]
host = "127.0.0.1"

[general]
master_key = "sk-master-workers-01"

[[models]]
name = "chat"
provider_model = "mock/echo"

[state]
backend = "sqlite"

[state.backend_config]
path = "{tmp_path / "state.db"}"
"""
    gateway = gateways.start(text, "--workers", "2")
    wait_until(
        lambda: gateway.stderr().count("Application startup complete") >= 2,
        20,
        "both workers to start",
    )
    seen: set[int] = set()

    def two_processes_answered() -> bool:
        seen.update(serving_pids(gateway, count=8))
        return len(seen) >= 2

    wait_until(two_processes_answered, 20, "requests answered by two worker processes")
    assert gateway.pid not in seen  # the supervisor only supervises
    response = chat(gateway.url, "sk-master-workers-01")
    assert response.status_code == 200, response.text
    gateway.terminate()
    assert gateway.wait(timeout=20) == 0, gateway.stderr()[-2000:]


# -- CORS -------------------------------------------------------------------------------


def preflight(url: str, origin: str) -> httpx.Response:
    return httpx.options(
        f"{url}/v1/chat/completions",
        headers={
            "origin": origin,
            "access-control-request-method": "POST",
            "access-control-request-headers": "authorization, content-type",
        },
        timeout=10,
    )


CORS = f"""
[server]
host = "127.0.0.1"
cors_origins = ["https://app.example.com"]

[general]
master_key = "{FILE_KEY}"

[[models]]
name = "chat"
provider_model = "mock/echo"
"""


def test_cors_with_explicit_origins(gateways: Gateways) -> None:
    gateway = gateways.start(CORS)

    allowed = preflight(gateway.url, "https://app.example.com")
    assert allowed.status_code == 204
    assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
    allowed_headers = allowed.headers["access-control-allow-headers"].lower()
    assert "authorization" in [h.strip() for h in allowed_headers.split(",")]
    assert "POST" in allowed.headers["access-control-allow-methods"]

    other = preflight(gateway.url, "https://evil.example.net")
    assert "access-control-allow-origin" not in other.headers

    actual = httpx.get(
        f"{gateway.url}/v1/models",
        headers={**bearer(FILE_KEY), "origin": "https://app.example.com"},
        timeout=10,
    )
    assert actual.status_code == 200
    assert actual.headers["access-control-allow-origin"] == "https://app.example.com"
    foreign = httpx.get(
        f"{gateway.url}/v1/models",
        headers={**bearer(FILE_KEY), "origin": "https://evil.example.net"},
        timeout=10,
    )
    assert "access-control-allow-origin" not in foreign.headers


def test_cors_default_allows_any_origin(gateways: Gateways) -> None:
    answer = preflight(gateways.start(QUICKSTART).url, "https://anywhere.example.org")
    assert answer.status_code == 204
    assert answer.headers["access-control-allow-origin"] == "*"
    assert "authorization" in answer.headers["access-control-allow-headers"].lower()


def test_worker_environments_hold_no_secret(gateways: Gateways, tmp_path: Path) -> None:
    master, provider, by_name = "sk-master-env-0001", "sk-provider-env-0002", "pw-redis-0003"
    with HttpUpstream() as upstream:
        text = f"""
[server]
host = "127.0.0.1"

[[models]]
name = "gpt"
provider_model = "openai/gpt-4o"
base_url = "{upstream.base_url}"

[state]
backend = "sqlite"

[state.backend_config]
path = "{tmp_path / "state.db"}"
"""
        gateway = gateways.start(
            text,
            "--workers",
            "2",
            env={
                "LITER_LLM_MASTER_KEY": master,
                "OPENAI_API_KEY": provider,
                "SOME_PASSWORD": by_name,
                "HARMLESS_SETTING": "visible",
            },
        )
        wait_until(
            lambda: gateway.stderr().count("Application startup complete") >= 2,
            20,
            "both workers to start",
        )
        response = chat(gateway.url, master, {**HELLO, "model": "gpt"})
        assert response.status_code == 200, response.text
        assert upstream.authorizations[-1] == f"Bearer {provider}"  # the worker has the key
        workers = descendants(gateway.pid)
        assert len(workers) >= 2
        environments = {pid: Path(f"/proc/{pid}/environ").read_bytes() for pid in workers}
    for pid, environ in environments.items():
        for secret in (master, provider, by_name):
            assert secret.encode() not in environ, (pid, secret)
        assert b"HARMLESS_SETTING=visible" in environ
