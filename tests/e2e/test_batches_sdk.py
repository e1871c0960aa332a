"""Batches with the official openai SDK against the real server: upload the JSONL,
create the batch, poll it, read the output file; other keys get 404."""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterator

import msgspec
import openai
import pytest

from literllm import Proxy
from literllm.testing import FakeUpstream
from tests.support.configs import MASTER, MOCK_POOL, TEAM, config
from tests.support.openapi import validate
from tests.support.server import ServerThread

TOML = (
    MOCK_POOL
    + """
[[keys]]
key = "vk-other-test-0003"
description = "other"

[batches]
poll_interval_secs = 0.05
"""
)


@pytest.fixture
def server() -> Iterator[ServerThread]:
    proxy = Proxy.from_config(config(TOML), transport=FakeUpstream(), environ={})
    with ServerThread(proxy) as running:
        yield running


Client = Callable[..., openai.OpenAI]


@pytest.fixture
def client(server: ServerThread) -> Iterator[Client]:
    """openai clients for the test, closed at its end (no socket left to the GC)."""
    made: list[openai.OpenAI] = []

    def make(key: str = TEAM) -> openai.OpenAI:
        sdk = openai.OpenAI(base_url=server.url + "/v1", api_key=key, max_retries=0, timeout=10)
        made.append(sdk)
        return sdk

    yield make
    for sdk in made:
        sdk.close()


def _jsonl(endpoint: str, bodies: list[dict]) -> io.BytesIO:
    lines = [
        msgspec.json.encode({"custom_id": f"c{i}", "method": "POST", "url": endpoint, "body": b})
        for i, b in enumerate(bodies)
    ]
    return io.BytesIO(b"\n".join(lines))


def _wait(sdk: openai.OpenAI, batch_id: str) -> openai.types.Batch:
    for _ in range(500):
        batch = sdk.batches.retrieve(batch_id)
        if batch.status in ("completed", "failed", "cancelled", "expired"):
            return batch
        time.sleep(0.02)
    raise AssertionError("the batch did not finish")


@pytest.mark.parametrize(
    ("endpoint", "body"),
    [
        (
            "/v1/chat/completions",
            {"model": "chat", "messages": [{"role": "user", "content": "hi"}]},
        ),
        ("/v1/embeddings", {"model": "chat", "input": "hi"}),
        ("/v1/completions", {"model": "chat", "prompt": "hi"}),
        ("/v1/moderations", {"model": "chat", "input": "hi"}),
        ("/v1/responses", {"model": "chat", "input": "hi"}),
    ],
)
def test_batch_round_trip(server: ServerThread, client: Client, endpoint: str, body: dict) -> None:
    sdk = client()
    uploaded = sdk.files.create(file=("in.jsonl", _jsonl(endpoint, [body] * 5)), purpose="batch")
    created = sdk.batches.create(
        input_file_id=uploaded.id,
        endpoint=endpoint,  # type: ignore[arg-type]
        completion_window="24h",
        metadata={"job": "nightly"},
    )
    validate(created.model_dump(mode="json", exclude_unset=True), "Batch")
    batch = _wait(sdk, created.id)
    validate(batch.model_dump(mode="json", exclude_unset=True), "Batch")
    assert batch.status == "completed" and batch.metadata == {"job": "nightly"}
    assert batch.request_counts is not None and batch.request_counts.completed == 5
    assert batch.output_file_id is not None and batch.error_file_id is None
    output = sdk.files.content(batch.output_file_id).text.splitlines()
    results = [msgspec.json.decode(line) for line in output]
    assert sorted(r["custom_id"] for r in results) == [f"c{i}" for i in range(5)]
    assert all(r["response"]["status_code"] == 200 for r in results)
    assert sdk.files.retrieve(batch.output_file_id).purpose == "batch_output"
    assert [b.id for b in sdk.batches.list()] == [created.id]


def test_other_keys_get_404_and_finished_batches_cannot_be_cancelled(
    server: ServerThread,
    client: Client,
) -> None:
    sdk = client()
    body = {"model": "chat", "messages": [{"role": "user", "content": "hi"}]}
    uploaded = sdk.files.create(
        file=("in.jsonl", _jsonl("/v1/chat/completions", [body] * 3)), purpose="batch"
    )
    created = sdk.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    with pytest.raises(openai.NotFoundError):
        client("vk-other-test-0003").batches.retrieve(created.id)
    with pytest.raises(openai.NotFoundError):
        client("vk-other-test-0003").files.content(uploaded.id)
    assert client(MASTER).batches.retrieve(created.id).id == created.id
    _wait(sdk, created.id)
    with pytest.raises(openai.BadRequestError, match="completed cannot be cancelled"):
        sdk.batches.cancel(created.id)
    # the cancel flow itself: tests/core/batches/test_batches.py


def test_an_input_file_with_bad_lines_fails_the_batch(server: ServerThread, client: Client) -> None:
    sdk = client()
    bad = io.BytesIO(b'{"custom_id": "a", "method": "POST", "url": "/v1/embeddings", "body": {}}')
    uploaded = sdk.files.create(file=("in.jsonl", bad), purpose="batch")
    created = sdk.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    assert created.status == "failed"
    assert created.errors is not None and created.errors.data is not None
    assert created.errors.data[0].code == "mismatched_url"
    validate(created.model_dump(mode="json", exclude_unset=True), "Batch")
