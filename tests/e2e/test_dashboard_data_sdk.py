"""The dashboard's data over a real `liter-llm api` process: traffic made with the
official openai SDK (successes, a stream, failures the gateway answers and an upstream
that cannot be reached) shows in `/admin/traffic` and `/admin/requests`, and no secret
comes out of them or of `/admin/config`."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from literllm.identity import key_id
from tests.support.process import Gateways, gateways_fixture  # noqa: F401
from tests.support.services import free_port

MARK = "Dx7SeCrEt"
"""In every secret and nowhere else."""
MASTER = f"sk-master-{MARK}-0001"
TEAM = f"vk-team-{MARK}-0002"
PROVIDER = f"sk-provider-{MARK}-0003"
URL_PASSWORD = f"pw-{MARK}-0004"
HELLO: Any = [{"role": "user", "content": "hello"}]


def toml(dead_port: int) -> str:
    return f"""
[server]
host = "127.0.0.1"

[general]
master_key = "{MASTER}"
max_retries = 0
enable_cost_tracking = true

[[models]]
name = "chat"
provider_model = "mock/echo"

[[models]]
name = "unreachable"
provider_model = "openai/gpt-4o"
api_key = "{PROVIDER}"
base_url = "http://gateway:{URL_PASSWORD}@127.0.0.1:{dead_port}/v1"

[[keys]]
key = "{TEAM}"
description = "e2e team"
"""


def test_traffic_and_recent_requests_show_what_the_sdk_did(gateways: Gateways) -> None:
    gateway = gateways.start(toml(free_port()))
    client = openai.OpenAI(base_url=gateway.url + "/v1", api_key=TEAM, max_retries=0)
    admin = httpx.Client(
        base_url=gateway.url, headers={"authorization": f"Bearer {MASTER}"}, timeout=10
    )
    with client, admin:
        before = admin.get("/admin/traffic").json()["totals"]["requests"]
        assert before == 0
        answer = client.chat.completions.create(model="chat", messages=HELLO)
        assert answer.choices[0].message.content
        client.chat.completions.create(
            model="chat", messages=HELLO, extra_headers={"x-request-id": "sdk-req-1"}
        )
        chunks = list(
            client.chat.completions.create(
                model="chat", messages=HELLO, stream=True, stream_options={"include_usage": True}
            )
        )
        assert chunks
        with pytest.raises(openai.NotFoundError):
            client.chat.completions.create(model="no-such-model", messages=HELLO)
        with pytest.raises(openai.APIStatusError) as unreachable:
            client.chat.completions.create(model="unreachable", messages=HELLO)
        assert unreachable.value.status_code >= 500
        with (
            pytest.raises(openai.AuthenticationError),
            openai.OpenAI(
                base_url=gateway.url + "/v1", api_key="sk-wrong-0000", max_retries=0
            ) as stranger,
        ):
            stranger.chat.completions.create(model="chat", messages=HELLO)
        with pytest.raises(openai.APIStatusError):  # a secret sent as the model
            client.chat.completions.create(model=PROVIDER, messages=HELLO)

        traffic = admin.get("/admin/traffic")
        assert traffic.status_code == 200
        report = traffic.json()
        assert report["window"] == "1h" and len(report["buckets"]) == 60
        totals = report["totals"]
        assert totals["requests"] == 7 and totals["errors"] == 4
        assert totals["prompt_tokens"] > 0 and totals["completion_tokens"] > 0
        assert totals["p50_ms"] is not None and totals["p99_ms"] >= totals["p50_ms"]
        assert sum(b["requests"] for b in report["buckets"]) == 7
        day = admin.get("/admin/traffic", params={"window": "24h"}).json()
        assert day["bucket_seconds"] == 900 and day["totals"]["requests"] == 7

        listed = admin.get("/admin/requests")
        assert listed.status_code == 200
        entries = listed.json()["data"]
        assert len(entries) == 7
        secret_model, wrong_key, dead, unknown, streamed, tagged, plain = entries
        assert secret_model["status"] >= 400 and secret_model["key_label"] == "e2e team"
        assert wrong_key["key_id"] is None and wrong_key["error_type"] == "authentication_error"
        assert dead["model"] == "unreachable" and dead["deployment"] is not None
        assert dead["status"] >= 500 and dead["error_type"]
        assert unknown["status"] == 404 and unknown["model"] == "no-such-model"
        assert streamed["stream"] is True and streamed["status"] == 200
        assert streamed["completion_tokens"] and streamed["completion_tokens"] > 0
        assert tagged["request_id"] == "sdk-req-1"
        for ok in (plain, tagged):
            assert ok["key_id"] == key_id(TEAM) and ok["key_label"] == "e2e team"
            assert ok["endpoint"] == "/v1/chat/completions" and ok["cache"] in (None, "miss")
            assert ok["deployment"] and ok["latency_ms"] > 0 and ok["prompt_tokens"] > 0
        failed = admin.get("/admin/requests", params={"status": "error"}).json()["data"]
        assert [e["request_id"] for e in failed] == [
            e["request_id"] for e in (secret_model, wrong_key, dead, unknown)
        ]
        mine = admin.get("/admin/requests", params={"key": key_id(TEAM), "limit": 2})
        assert [e["request_id"] for e in mine.json()["data"]] == [
            secret_model["request_id"],
            dead["request_id"],
        ]

        shown = listed.text + admin.get("/admin/config").text + traffic.text
        assert MARK not in shown
        assert MARK not in admin.get("/admin/requests", params={"model": PROVIDER}).text


def test_workers_sharing_sqlite_report_every_workers_traffic(
    gateways: Gateways, tmp_path: Path
) -> None:
    text = f"""
[server]
host = "127.0.0.1"

[general]
master_key = "{MASTER}"

[[models]]
name = "chat"
provider_model = "mock/echo"

[state]
backend = "sqlite"

[state.backend_config]
path = "{tmp_path / "state.db"}"
"""
    gateway = gateways.start(text, "--workers", "2")
    body = {"model": "chat", "messages": HELLO}
    auth = {"authorization": f"Bearer {MASTER}"}

    def one_request(_: int) -> int:
        # a connection of its own each, so that both workers get some
        with httpx.Client(base_url=gateway.url, timeout=20) as client:
            return client.post("/v1/chat/completions", json=body, headers=auth).status_code

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(one_request, range(24))) == [200] * 24

    def totals() -> dict[str, Any]:
        with httpx.Client(base_url=gateway.url, timeout=10, headers=auth) as client:
            report = client.get("/admin/traffic").json()
        assert report["shared"] is True
        return dict(report["totals"])

    deadline = time.monotonic() + 20  # each worker hands its counts over every 5 s
    while totals()["requests"] != 24:
        assert time.monotonic() < deadline, totals()
        time.sleep(0.2)
    assert totals()["errors"] == 0

    def ring_sizes(_: int) -> int:
        with httpx.Client(base_url=gateway.url, timeout=10, headers=auth) as client:
            return len(client.get("/admin/requests").json()["data"])

    # each worker's ring holds its own requests: the two together are the 24 counted
    # (an even split shows one size, 12; one worker taking all shows 24 and 0)
    seen: set[int] = set()
    for _ in range(5):
        with ThreadPoolExecutor(8) as pool:
            seen.update(pool.map(ring_sizes, range(16)))
        if len(seen) == 2:
            break
    assert len(seen) <= 2 and all(24 - size in seen or 2 * size == 24 for size in seen), seen
    assert seen != {24}, "one ring holds every worker's requests"
