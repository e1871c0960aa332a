"""Keys sent as `model` never reach /metrics, the logs, the admin API or an error body."""

from __future__ import annotations

import io
import logging

import httpx
import pytest

from literllm import Proxy
from literllm.testing import FakeUpstream
from literllm_server import create_app
from literllm_server.serve import build_app
from tests.support.configs import MASTER, TEAM, config
from tests.support.server import ServerThread

UPSTREAM_KEY = "sk-upstream-secret-0003"
TOML = f"""
[[models]]
name = "chat"
provider_model = "openai/gpt-4o"
api_key = "{UPSTREAM_KEY}"
base_url = "https://api.fake-openai.test/v1"

[[keys]]
key = "{TEAM}"
description = "team"
"""
SECRETS = (MASTER, TEAM, UPSTREAM_KEY)


@pytest.mark.parametrize("passthrough", [False, True])
def test_keys_sent_as_model_leak_nowhere(
    caplog: pytest.LogCaptureFixture, passthrough: bool
) -> None:
    caplog.set_level(logging.DEBUG)
    if passthrough:
        settings = config(
            f'[general]\nmaster_key = "{MASTER}"\npassthrough = true\n' + TOML, master=False
        )
    else:
        settings = config(TOML)
    environ = {"OPENAI_API_KEY": "sk-environ-secret-0004"} if passthrough else {}
    proxy = Proxy.from_config(settings, transport=FakeUpstream(), environ=environ)
    access = io.StringIO()
    app = build_app(settings, "json", proxy=proxy, log_stream=access, freeze_gc=False)
    seen: list[str] = []
    with ServerThread(proxy, app) as server:
        for caller in (MASTER, TEAM):
            headers = {"authorization": f"Bearer {caller}"}
            for secret in SECRETS:
                for model in (secret, f"openai/{secret}", f"nope/{secret}"):
                    for path, body in (
                        ("/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}]}),
                        ("/v1/chat/completions",
                         {"messages": [{"role": "user", "content": "hi"}], "stream": True}),
                        ("/v1/embeddings", {"input": "hi"}),
                        ("/v1/completions", {"prompt": "hi"}),
                        ("/v1/messages",
                         {"max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}),
                        ("/v1/messages",
                         {"max_tokens": 8, "messages": [{"role": "user", "content": "hi"}],
                          "stream": True}),
                        ("/v1/messages/count_tokens",
                         {"messages": [{"role": "user", "content": "hi"}]}),
                        ("/v1/responses", {"input": "hi"}),
                        ("/v1/responses", {"input": "hi", "stream": True}),
                        ("/v1/images/generations", {"prompt": "a cat"}),
                        ("/v1/moderations", {"input": "hi"}),
                        ("/v1/rerank", {"query": "q", "documents": ["a", "b"]}),
                    ):  # fmt: skip
                        response = httpx.post(
                            server.url + path, json={**body, "model": model}, headers=headers
                        )
                        if not (passthrough and response.is_success):
                            # (an upstream's answer names the model it was asked for)
                            seen.append(response.text)
                        seen.extend(f"{k}: {v}" for k, v in response.headers.items())
                    seen.append(httpx.get(server.url + f"/v1/models/{model}", headers=headers).text)
        master = {"authorization": f"Bearer {MASTER}"}
        for path in (
            "/metrics", "/admin/keys", "/admin/spend", "/admin/models", "/admin/config",
            "/admin/traffic", "/admin/requests?limit=1000",
        ):  # fmt: skip
            answer = httpx.get(server.url + path, headers=master)
            assert answer.status_code == 200
            seen.append(answer.text)
    app.access_log.flush() if app.access_log else None
    seen.append(access.getvalue())
    # the gateway's own log records (the test's HTTP client logs the URLs it requests)
    seen.extend(
        r.getMessage() for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))
    )
    everything = "\n".join(seen)
    assert "other" in everything
    assert access.getvalue().count("\n") >= 2 * len(SECRETS) * 3 * 12
    for secret in SECRETS:
        leaks = [line for line in everything.splitlines() if secret[3:-2] in line]
        assert not leaks, (secret, leaks[:5])


def test_route_header_values_are_scrubbed_every_time_and_remembered_boundedly() -> None:
    app = create_app(Proxy.from_config(config(TOML), environ={}))
    for _ in range(3):
        assert app.scrub_route(f"openai/{UPSTREAM_KEY}") == "openai/***"
        assert app.scrub_route(f"nope/{TEAM}") == "nope/***"
        assert app.scrub_route("openai/gpt-4o") == "openai/gpt-4o"
    for n in range(3000):  # passthrough names chosen by clients
        assert app.scrub_route(f"openai/model-{n}") == f"openai/model-{n}"
    assert len(app._clean_routes) <= 1024
    assert app.scrub_route(f"openai/{MASTER}") == "openai/***"
