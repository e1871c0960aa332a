"""A 1,000-line batch over an upstream that fails 5% of calls, its gateway killed with
SIGKILL halfway and started again: every line appears exactly once in the output or
error file, no line reached the upstream twice, and the key's spend is the sum of the
lines' costs."""

from __future__ import annotations

import hashlib
import io
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import msgspec
import openai
import pytest

from literllm.pricing import Pricing
from tests.support.process import Gateways, gateways_fixture  # noqa: F401
from tests.support.services import HttpUpstream

LINES = 1000
KEY = "vk-batch-restart-01"
MASTER = "sk-master-proc-0001"


def _fails(body: dict[str, Any]) -> bool:
    """5% of lines, chosen by their content (so a retry would fail again)."""
    text = body["messages"][0]["content"]
    return int(hashlib.sha256(text.encode()).hexdigest(), 16) % 20 == 0


def _config(base_url: str, tmp_path: Path) -> str:
    return f"""
[server]
host = "127.0.0.1"

[general]
master_key = "{MASTER}"
max_retries = 0
enable_cost_tracking = true

[[models]]
name = "gpt"
provider_model = "openai/gpt-4o"
api_key = "sk-upstream-proc-0002"
base_url = "{base_url}"

[[keys]]
key = "{KEY}"
description = "batch"

[state]
backend = "sqlite"

[state.backend_config]
path = "{tmp_path / "state.db"}"

[files]
backend = "fs"

[files.backend_config]
root = "{tmp_path / "files"}"

[batches]
concurrency = 8
poll_interval_secs = 0.1
"""


def _counts(client: openai.OpenAI, batch_id: str) -> tuple[str, int]:
    batch = client.batches.retrieve(batch_id)
    counts = batch.request_counts
    done = counts.completed + counts.failed if counts else 0
    return batch.status, done


def test_sigkill_halfway_then_restart(gateways: Gateways, tmp_path: Path) -> None:
    with HttpUpstream(fails=_fails, delay=0.01) as upstream:
        text = _config(upstream.base_url, tmp_path)
        first = gateways.start(text)
        client = openai.OpenAI(base_url=first.url + "/v1", api_key=KEY, max_retries=0)
        lines = [
            msgspec.json.encode(
                {
                    "custom_id": f"line-{i}",
                    "method": "POST",
                    "url": "/v1/chat/completions",
                    "body": {"model": "gpt", "messages": [{"role": "user", "content": f"q{i}"}]},
                }
            )
            for i in range(LINES)
        ]
        uploaded = client.files.create(
            file=("in.jsonl", io.BytesIO(b"\n".join(lines))), purpose="batch"
        )
        batch = client.batches.create(
            input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
        )
        deadline = time.monotonic() + 60
        while _counts(client, batch.id)[1] < LINES // 3:
            assert time.monotonic() < deadline, "the batch made no progress"
            time.sleep(0.05)
        client.close()
        first.signal(signal.SIGKILL)
        assert first.wait(timeout=10) == -signal.SIGKILL

        second = gateways.start(text)
        client = openai.OpenAI(base_url=second.url + "/v1", api_key=KEY, max_retries=0)
        deadline = time.monotonic() + 120
        while True:
            status, done = _counts(client, batch.id)
            if status in ("completed", "failed", "cancelled", "expired"):
                break
            assert time.monotonic() < deadline, f"the batch is still {status} ({done} done)"
            time.sleep(0.1)
        final = client.batches.retrieve(batch.id)
        assert final.status == "completed"
        output = [
            msgspec.json.decode(line)
            for line in client.files.content(final.output_file_id or "").text.splitlines()
        ]
        errors = [
            msgspec.json.decode(line)
            for line in client.files.content(final.error_file_id or "").text.splitlines()
        ]
        spend = httpx.get(
            f"{second.url}/admin/spend", headers={"authorization": f"Bearer {MASTER}"}, timeout=10
        ).json()
        sent = Counter(r["messages"][0]["content"] for r in upstream.requests)
        client.close()

    ids = Counter([o["custom_id"] for o in output] + [e["custom_id"] for e in errors])
    assert sorted(ids) == sorted(f"line-{i}" for i in range(LINES))
    assert set(ids.values()) == {1}, "a line appears twice"
    assert max(sent.values()) == 1, "a line reached the upstream twice"
    failed = {e["custom_id"] for e in errors if e["response"] is not None}
    interrupted = {e["custom_id"] for e in errors if e["error"] is not None}
    assert (
        failed
        == {f"line-{i}" for i in range(LINES) if _fails({"messages": [{"content": f"q{i}"}]})}
        - interrupted
    )
    assert {e["error"]["code"] for e in errors if e["error"]} <= {"interrupted"}
    assert len(interrupted) <= 8  # at most the lines in flight when it was killed
    price = Pricing.load().price("openai/gpt-4o")
    assert price is not None
    per_line = [
        o["response"]["body"]["usage"]["prompt_tokens"] * price.input
        + o["response"]["body"]["usage"]["completion_tokens"] * price.output
        for o in output
    ]
    (key,) = [k for k in spend["keys"] if k["description"] == "batch"]
    assert key["spend"] == pytest.approx(sum(per_line))
    assert final.request_counts is not None
    assert final.request_counts.completed == len(output)
    assert final.request_counts.failed == len(errors)
