"""`/metrics` and `/admin/*` over real HTTP, and the secrets test: known secrets go in
as master key, virtual keys and provider credentials; traffic of every outcome runs;
none of them may come out in logs, metrics, admin output or any response."""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from literllm import Proxy
from literllm.config import Config, parse_config
from literllm.observability.redact import Redactor
from literllm.testing import FakeClock, FakeUpstream, Reply
from literllm_server import create_app
from literllm_server.accesslog import AccessLog
from tests.support.server import ServerThread

MARK = "SeCrEt7Q"
"""In every secret and nowhere else: finding it anywhere means a secret leaked, even
truncated."""
MASTER = f"sk-master-{MARK}-0001"
VK_TEAM = f"vk-team-{MARK}-0002"
VK_LIMITED = f"vk-limited-{MARK}-0003"
VK_NAMELESS = f"vk-nameless-{MARK}-0004"
PROVIDER_OK = f"sk-proj-ok-{MARK}-0005"
PROVIDER_REJECTED = f"sk-proj-rejected-{MARK}-0006"
PROVIDER_ECHOED = f"sk-proj-echoed-{MARK}-0007"
ALIAS_KEY = f"gsk-alias-{MARK}-0008"
URL_PASSWORD = f"pw-{MARK}-0009"
WRONG_KEY = f"sk-wrong-guess-{MARK}-0010"
SECRETS = (
    MASTER, VK_TEAM, VK_LIMITED, VK_NAMELESS, PROVIDER_OK, PROVIDER_REJECTED,
    PROVIDER_ECHOED, ALIAS_KEY, URL_PASSWORD, WRONG_KEY,
)  # fmt: skip

TOML = f"""
[general]
master_key = "{MASTER}"
enable_cost_tracking = true

[[models]]
name = "gpt"
provider_model = "openai/gpt-4o"
api_key = "{PROVIDER_OK}"
base_url = "https://good.upstream.test/v1"

[[models]]
name = "rejected"
provider_model = "openai/gpt-4o-mini"
api_key = "{PROVIDER_REJECTED}"
base_url = "https://rejects.upstream.test/v1"

[[models]]
name = "echoing"
provider_model = "openai/gpt-4.1"
api_key = "{PROVIDER_ECHOED}"
base_url = "https://echoes.upstream.test/v1"

[[models]]
name = "internal"
provider_model = "openai/llama"
base_url = "https://gateway-user:{URL_PASSWORD}@llm.internal.test/v1"

[[models]]
name = "chat"
provider_model = "mock/echo"

[[aliases]]
pattern = "groq/*"
api_key = "{ALIAS_KEY}"

[[keys]]
key = "{VK_TEAM}"
description = "team"
models = ["gpt", "rejected", "echoing", "chat"]
rpm = 100
tpm = 1000000
budget_limit = 5.0

[[keys]]
key = "{VK_LIMITED}"
description = "limited"
models = ["chat"]

[[keys]]
key = "{VK_NAMELESS}"
models = ["chat"]
"""

USAGE = {"prompt_tokens": 1000, "completion_tokens": 500, "total_tokens": 1500}
ANSWER = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1,
    "model": "gpt-4o",
    "choices": [
        {
            "index": 0,
            "finish_reason": "stop",
            "logprobs": None,
            "message": {"role": "assistant", "content": "hi", "refusal": None},
        }
    ],
    "usage": USAGE,
}
HELLO = [{"role": "user", "content": "hello"}]


def build_config() -> Config:
    return parse_config(TOML, "observability.toml", environ={})


def upstream() -> FakeUpstream:
    fake = FakeUpstream()
    fake.script(*[Reply(200, json=ANSWER)] * 50, url="good.upstream.test")
    # Providers echo credentials back more often than they should; the gateway must not.
    echo_rejected = {
        "error": {"message": f"Incorrect API key provided: {PROVIDER_REJECTED}", "type": "auth"}
    }
    fake.script(*[Reply(401, json=echo_rejected)] * 10, url="rejects.upstream.test")
    echo_bad_request = {
        "error": {
            "message": f"invalid request sent with key {PROVIDER_ECHOED}",
            "type": "invalid_request_error",
        }
    }
    fake.script(*[Reply(400, json=echo_bad_request)] * 10, url="echoes.upstream.test")
    return fake


class LoggedServer(ServerThread):
    """`ServerThread` serving an app with an access log, built as `serve.build_app`
    builds it (a `Redactor` over the config's secrets and provider keys)."""

    def __init__(self, proxy: Proxy, access_log: AccessLog) -> None:
        super().__init__(proxy)
        self.app = create_app(proxy, access_log)
        self.server.config.app = self.app


def access_log_for(config: Config, proxy: Proxy, stream: io.StringIO, fmt: str) -> AccessLog:
    return AccessLog(
        "json" if fmt == "json" else "plain", stream, redactor=Redactor(proxy.secrets())
    )


@pytest.fixture
def access_stream() -> io.StringIO:
    return io.StringIO()


@pytest.fixture(params=["plain", "json"])
def server(request: pytest.FixtureRequest, access_stream: io.StringIO) -> Iterator[LoggedServer]:
    config = build_config()
    proxy = Proxy.from_config(config, transport=upstream(), clock=FakeClock(), environ={})
    log = access_log_for(config, proxy, access_stream, str(request.param))
    running = LoggedServer(proxy, log)
    with running:
        yield running


@pytest.fixture
def http(server: LoggedServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield client


def auth(key: str | None) -> dict[str, str]:
    return {} if key is None else {"authorization": f"Bearer {key}"}


def chat(http: httpx.Client, key: str | None, model: str, **extra: Any) -> httpx.Response:
    return http.post(
        "/v1/chat/completions",
        json={"model": model, "messages": HELLO, **extra},
        headers=auth(key),
    )


def families(text: str) -> dict[str, Any]:
    return {family.name: family for family in text_string_to_metric_families(text)}


def requests_total(text: str, **labels: str) -> float:
    total = 0.0
    for sample in families(text)["literllm_requests"].samples:
        if sample.name == "literllm_requests_total" and all(
            sample.labels.get(k) == v for k, v in labels.items()
        ):
            total += sample.value
    return total


# -- /metrics ---------------------------------------------------------------------------


def test_metrics_needs_the_master_key(http: httpx.Client) -> None:
    missing = http.get("/metrics")
    assert missing.status_code == 401
    assert missing.json()["error"]["type"]
    wrong = http.get("/metrics", headers=auth(WRONG_KEY))
    assert wrong.status_code == 401
    virtual = http.get("/metrics", headers=auth(VK_TEAM))
    assert virtual.status_code == 403
    assert virtual.json()["error"]["code"] == "master_key_required"
    master = http.get("/metrics", headers=auth(MASTER))
    assert master.status_code == 200
    assert master.headers["content-type"].startswith("text/plain")
    assert "literllm_requests" in families(master.text)


def test_metrics_count_the_requests_made(http: httpx.Client) -> None:
    for _ in range(3):
        assert chat(http, VK_TEAM, "chat").status_code == 200
    assert chat(http, VK_TEAM, "gpt").status_code == 200
    assert chat(http, VK_LIMITED, "gpt").status_code == 403
    assert chat(http, MASTER, "no-such-model").status_code == 404

    text = http.get("/metrics", headers=auth(MASTER)).text
    parsed = families(text)  # the whole exposition parses
    assert requests_total(text, model="chat", key="team", status="200") == 3
    assert requests_total(text, model="gpt", key="team", status="200") == 1
    assert requests_total(text, key="limited", status="403") == 1
    assert requests_total(text, key="master", status="404") == 1

    tokens = {
        s.labels["kind"]: s.value
        for s in parsed["literllm_tokens"].samples
        if s.name == "literllm_tokens_total"
        and s.labels.get("model") == "gpt"
        and s.labels.get("key") == "team"
    }
    assert tokens["input"] == USAGE["prompt_tokens"]
    assert tokens["output"] == USAGE["completion_tokens"]
    cost = sum(
        s.value
        for s in parsed["literllm_cost_usd"].samples
        if s.name == "literllm_cost_usd_total" and s.labels.get("key") == "team"
    )
    assert cost > 0
    # scraping is not counted as a request of a model, and a second scrape still parses
    again = http.get("/metrics", headers=auth(MASTER)).text
    assert requests_total(again, model="chat", key="team", status="200") == 3


# -- /admin/* ---------------------------------------------------------------------------

ADMIN = [
    "/admin/keys", "/admin/spend", "/admin/models", "/admin/config", "/admin/traffic",
    "/admin/requests",
]  # fmt: skip


@pytest.mark.parametrize("path", ADMIN)
def test_admin_is_master_only(http: httpx.Client, path: str) -> None:
    assert http.get(path).status_code == 401
    for key in (VK_TEAM, VK_LIMITED, VK_NAMELESS):
        refused = http.get(path, headers=auth(key))
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"]["code"] == "master_key_required"
    allowed = http.get(path, headers=auth(MASTER))
    assert allowed.status_code == 200, allowed.text
    assert allowed.headers["content-type"].startswith("application/json")
    assert http.put(path, headers=auth(MASTER)).status_code == 405  # no PUT anywhere


def test_admin_keys_show_limits_usage_and_spend(http: httpx.Client) -> None:
    assert chat(http, VK_TEAM, "gpt").status_code == 200
    assert chat(http, VK_TEAM, "chat").status_code == 200
    keys = http.get("/admin/keys", headers=auth(MASTER)).json()["data"]
    by_description = {k["description"]: k for k in keys}
    assert set(by_description) == {"team", "limited", None}
    team = by_description["team"]
    assert team["id"].startswith("k-")
    assert team["models"] == ["gpt", "rejected", "echoing", "chat"]
    assert team["limits"] == {"rpm": 100, "tpm": 1000000, "budget_limit": 5.0}
    assert team["window"]["requests"] == 2
    assert team["window"]["tokens"] >= USAGE["total_tokens"]
    assert team["spend"] > 0
    assert team["remaining_budget"] == pytest.approx(5.0 - team["spend"])
    limited = by_description["limited"]
    assert limited["spend"] == 0
    assert limited["remaining_budget"] is None
    assert limited["window"] == {"requests": None, "tokens": None}  # no limits, no window


def test_admin_spend_models_and_config_shapes(http: httpx.Client) -> None:
    assert chat(http, VK_TEAM, "gpt").status_code == 200
    spend = http.get("/admin/spend", headers=auth(MASTER)).json()
    assert spend["global"]["spend"] == pytest.approx(spend["models"]["openai/gpt-4o"]["spend"])
    assert spend["global"]["spend"] > 0
    team = next(k for k in spend["keys"] if k["description"] == "team")
    assert team["spend"] == pytest.approx(spend["global"]["spend"])

    models = http.get("/admin/models", headers=auth(MASTER)).json()
    pools = {pool["name"]: pool for pool in models["pools"]}
    assert {"gpt", "rejected", "echoing", "internal", "chat"} <= set(pools)
    assert len(pools["gpt"]["deployments"]) == 1

    config = http.get("/admin/config", headers=auth(MASTER)).json()
    assert [m["name"] for m in config["models"]][:2] == ["gpt", "rejected"]
    assert config["general"]["master_key"]  # shown redacted, not dropped
    assert len(config["keys"]) == 3


# -- the secrets test -------------------------------------------------------------------


def run_every_outcome(http: httpx.Client) -> list[httpx.Response]:
    """Success, stream, every auth failure, unknown model, rejected provider credential,
    an upstream error that echoes its key, admin and metrics reads."""
    responses = [
        chat(http, VK_TEAM, "gpt"),
        chat(http, VK_TEAM, "chat", stream=True),
        http.post(
            "/v1/chat/completions",
            json={"model": "chat", "messages": HELLO},
            headers={"x-api-key": VK_NAMELESS},
        ),
        http.post(
            "/v1/chat/completions",
            json={"model": "chat", "messages": HELLO},
            headers={"api-key": VK_LIMITED},
        ),
        chat(http, WRONG_KEY, "gpt"),
        chat(http, None, "gpt"),
        chat(http, VK_LIMITED, "gpt"),
        chat(http, MASTER, "no-such-model"),
        chat(http, VK_TEAM, "rejected"),
        chat(http, VK_TEAM, "echoing"),
        chat(http, MASTER, "groq/llama-3.1-8b-instant", max_tokens=1),
        http.post("/v1/chat/completions", content=b"{not json", headers=auth(VK_TEAM)),
        http.get("/v1/models", headers=auth(VK_TEAM)),
        http.get("/v1/models", headers=auth(WRONG_KEY)),
        http.get("/metrics", headers=auth(VK_TEAM)),
        http.get("/health"),
        http.get("/openapi.json"),
    ]
    responses += [http.get(path, headers=auth(MASTER)) for path in ADMIN]
    responses.append(http.get("/metrics", headers=auth(MASTER)))
    return responses


def test_no_secret_comes_out(
    http: httpx.Client, access_stream: io.StringIO, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    responses = run_every_outcome(http)

    statuses = [r.status_code for r in responses]
    assert statuses[:10] == [200, 200, 200, 200, 401, 401, 403, 404, 502, 400], statuses
    rejected = responses[8].json()["error"]
    assert "credential" in rejected["message"] and "rejected" in rejected["message"]
    assert rejected["type"] == "upstream_auth_error"

    outputs = {
        f"{r.request.method} {r.request.url.path} -> {r.status_code}": (
            r.text + "\n" + "\n".join(f"{k}: {v}" for k, v in r.headers.items())
        )
        for r in responses
    }
    # a line is written just after its response went out: wait for the last one
    deadline = time.monotonic() + 5
    while access_stream.getvalue().count("\n") < len(responses) and time.monotonic() < deadline:
        time.sleep(0.005)
    outputs["access log"] = access_stream.getvalue()
    outputs["python logging"] = caplog.text + "\n".join(
        str(record.args) for record in caplog.records
    )
    assert outputs["access log"].count("\n") >= len(responses)  # one line per request
    assert "/v1/chat/completions" in outputs["access log"]
    leaks = [
        (where, secret)
        for where, text in outputs.items()
        for secret in (*SECRETS, MARK)
        if secret in text
    ]
    assert leaks == []
