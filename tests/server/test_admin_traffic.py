"""`GET /admin/traffic` and `GET /admin/requests` over real HTTP: auth, bad input, shape."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from literllm import Proxy
from literllm.identity import key_id
from literllm.testing import FakeClock, FakeUpstream, Reply
from tests.support.configs import MASTER, MOCK_POOL, TEAM, config
from tests.support.server import ServerThread

HELLO = [{"role": "user", "content": "hello"}]
MASTER_AUTH = {"authorization": f"Bearer {MASTER}"}
TEAM_AUTH = {"authorization": f"Bearer {TEAM}"}
BUCKET_FIELDS = {
    "start", "requests", "errors", "p50_ms", "p99_ms", "prompt_tokens", "completion_tokens",
    "cost_usd",
}  # fmt: skip
ENTRY_FIELDS = {
    "time", "request_id", "key_id", "key_label", "model", "deployment", "endpoint", "status",
    "latency_ms", "prompt_tokens", "completion_tokens", "cost_usd", "cache", "error_type",
    "stream",
}  # fmt: skip


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(start=1_800_000_030.0)


@pytest.fixture
def http(clock: FakeClock) -> Iterator[httpx.Client]:
    upstream = FakeUpstream(clock)
    upstream.script(Reply(500, json={"error": {"message": "boom"}}), url="api.fake-openai.test")
    proxy = Proxy.from_config(config(MOCK_POOL), transport=upstream, clock=clock, environ={})
    with ServerThread(proxy) as server, httpx.Client(base_url=server.url, timeout=10) as client:
        yield client


def chat(http: httpx.Client, model: str = "chat", **extra: Any) -> httpx.Response:
    return http.post(
        "/v1/chat/completions", json={"model": model, "messages": HELLO, **extra}, headers=TEAM_AUTH
    )


@pytest.mark.parametrize("path", ["/admin/traffic", "/admin/requests"])
def test_the_master_key_alone_may_read(http: httpx.Client, path: str) -> None:
    missing = http.get(path)
    assert missing.status_code == 401
    assert missing.json()["error"]["type"] == "authentication_error"
    assert http.get(path, headers={"authorization": "Bearer sk-wrong-0000"}).status_code == 401
    forbidden = http.get(path, headers=TEAM_AUTH)
    assert forbidden.status_code == 403
    assert forbidden.json()["error"]["code"] == "master_key_required"
    assert http.get(path, headers=MASTER_AUTH).status_code == 200
    head = http.head(path, headers=MASTER_AUTH)
    assert head.status_code == 200 and head.content == b""
    assert http.head(path).status_code == 401


@pytest.mark.parametrize(
    ("path", "param"),
    [
        ("/admin/traffic?window=7d", "window"),
        ("/admin/traffic?window=", "window"),
        ("/admin/requests?limit=0", "limit"),
        ("/admin/requests?limit=1001", "limit"),
        ("/admin/requests?limit=ten", "limit"),
        ("/admin/requests?limit=-1", "limit"),
        ("/admin/requests?status=failed", "status"),
    ],
)
def test_bad_queries_are_400_naming_the_parameter(
    http: httpx.Client, path: str, param: str
) -> None:
    answer = http.get(path, headers=MASTER_AUTH)
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert set(error) == {"message", "type", "param", "code"}


def test_traffic_counts_requests_and_errors_in_the_current_minute(
    http: httpx.Client, clock: FakeClock
) -> None:
    assert chat(http).status_code == 200
    assert chat(http, stream=True).status_code == 200
    assert chat(http, model="upstream").status_code == 403  # not among the key's models
    http.get("/admin/keys", headers=MASTER_AUTH)  # the operator's calls are not traffic
    http.get("/health")
    report = http.get("/admin/traffic", headers=MASTER_AUTH).json()
    assert report["window"] == "1h" and report["bucket_seconds"] == 60
    assert set(report) >= {"window", "bucket_seconds", "buckets", "totals"}
    buckets = report["buckets"]
    assert len(buckets) == 60
    assert all(set(b) >= BUCKET_FIELDS for b in buckets)
    starts = [b["start"] for b in buckets]
    assert starts == sorted(starts) and all(b - a == 60 for a, b in itertools.pairwise(starts))
    assert starts[-1] == 1_800_000_000 and all(isinstance(s, int) for s in starts)
    last = buckets[-1]
    assert last["requests"] == 3 and last["errors"] == 1
    assert last["prompt_tokens"] > 0 and last["completion_tokens"] > 0
    assert last["p50_ms"] is not None and last["p99_ms"] >= last["p50_ms"]
    assert all(b["requests"] == 0 and b["p50_ms"] is None for b in buckets[:-1])
    totals = report["totals"]
    assert set(totals) >= BUCKET_FIELDS - {"start"}
    assert (totals["requests"], totals["errors"]) == (3, 1)
    assert totals["prompt_tokens"] == last["prompt_tokens"]

    clock.advance(60)  # the next minute: the old bucket moves left, a new one is empty
    moved = http.get("/admin/traffic?window=1h", headers=MASTER_AUTH).json()["buckets"]
    assert moved[-2]["requests"] == 3 and moved[-1]["requests"] == 0
    day = http.get("/admin/traffic?window=24h", headers=MASTER_AUTH).json()
    assert day["window"] == "24h" and day["bucket_seconds"] == 900
    assert len(day["buckets"]) == 96 and day["totals"]["requests"] == 3
    assert day["buckets"][-1]["start"] % 900 == 0


def test_recent_requests_newest_first_with_filters(http: httpx.Client) -> None:
    assert chat(http).status_code == 200
    assert chat(http, stream=True).status_code == 200
    assert chat(http, model="upstream").status_code == 403
    failed = http.post("/v1/chat/completions", json={"model": "chat"}, headers=TEAM_AUTH)
    assert failed.status_code == 400
    http.get("/admin/spend", headers=MASTER_AUTH)

    data = http.get("/admin/requests", headers=MASTER_AUTH).json()["data"]
    assert [e["status"] for e in data] == [400, 403, 200, 200]
    assert all(set(e) >= ENTRY_FIELDS for e in data)
    bad, refused, streamed, plain = data
    assert plain["endpoint"] == "/v1/chat/completions" and plain["stream"] is False
    assert plain["key_id"] == key_id(TEAM) and plain["key_label"] == "team"
    assert plain["model"] == "chat" and plain["deployment"] is not None
    assert plain["prompt_tokens"] > 0 and plain["completion_tokens"] > 0
    assert plain["error_type"] is None and plain["latency_ms"] >= 0
    assert plain["request_id"] and isinstance(plain["time"], float)
    assert streamed["stream"] is True and streamed["completion_tokens"] > 0
    assert refused["error_type"] == "permission_error" and refused["model"] == "upstream"
    assert refused["deployment"] is None
    assert bad["error_type"] == "invalid_request_error"
    assert data[0]["time"] >= data[-1]["time"]

    def query(q: str) -> list[dict[str, Any]]:
        answer = http.get(f"/admin/requests?{q}", headers=MASTER_AUTH)
        assert answer.status_code == 200
        return list(answer.json()["data"])

    assert [e["status"] for e in query("status=error")] == [400, 403]
    assert [e["status"] for e in query("status=ok")] == [200, 200]
    assert [e["status"] for e in query("limit=1")] == [400]
    assert [e["model"] for e in query("model=upstream")] == ["upstream"]
    assert len(query(f"key={key_id(TEAM)}")) == 4
    assert query("key=k-0000000000000000") == []


def test_an_upstream_failure_is_a_failed_request_with_its_deployment(
    clock: FakeClock,
) -> None:
    upstream = FakeUpstream(clock)
    upstream.script(Reply(400, json={"error": {"message": "nope"}}), url="api.fake-openai.test")
    proxy = Proxy.from_config(config(MOCK_POOL), transport=upstream, clock=clock, environ={})
    with ServerThread(proxy) as server, httpx.Client(base_url=server.url, timeout=10) as http:
        answer = http.post(
            "/v1/chat/completions",
            json={"model": "upstream", "messages": HELLO},
            headers=MASTER_AUTH,
        )
        assert answer.status_code == 400
        entry = http.get("/admin/requests?status=error", headers=MASTER_AUTH).json()["data"][0]
    assert entry["key_id"] == "master" and entry["model"] == "upstream"
    assert entry["deployment"] is not None and entry["status"] == 400
    assert entry["error_type"] is not None


def test_openapi_lists_both(http: httpx.Client) -> None:
    document = http.get("/openapi.json").json()
    for path in ("/admin/traffic", "/admin/requests"):
        operation = document["paths"][path]["get"]
        assert operation["security"] == [{"bearer": []}]
        assert "400" in operation["responses"] and "401" in operation["responses"]
    schemas = document["components"]["schemas"]
    assert set(schemas["TrafficBucket"]["properties"]) >= BUCKET_FIELDS
    assert set(schemas["RequestEntry"]["properties"]) >= ENTRY_FIELDS


def test_models_report_provider_health_cooldown_and_latency(http: httpx.Client) -> None:
    def deployments() -> dict[str, dict[str, Any]]:
        report = http.get("/admin/models", headers=MASTER_AUTH).json()
        return {d["model"]: d for pool in report["pools"] for d in pool["deployments"]}

    before = deployments()
    assert before["chat"]["provider"] == "mock" and before["upstream"]["provider"] == "openai"
    assert before["chat"]["health"] == "unknown" and before["chat"]["latency_ms"] is None
    assert before["chat"]["cooling_down"] is False and before["chat"]["cooldown_until"] is None
    assert chat(http).status_code == 200
    after = deployments()["chat"]
    assert after["health"] == "healthy" and after["latency_ms"] is not None
