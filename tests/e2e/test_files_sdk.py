"""`/v1/files` with the official openai SDK against the real server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from literllm import Proxy
from tests.support.configs import MASTER, config
from tests.support.server import ServerThread

KEYS = """
[[models]]
name = "chat"
provider_model = "mock/echo"

[[keys]]
key = "vk-alice-000001"

[[keys]]
key = "vk-bob-00000002"
"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerThread]:
    files = f'[files]\nbackend = "fs"\n[files.backend_config]\nroot = "{tmp_path}"\n'
    with ServerThread(Proxy.from_config(config(KEYS + files), environ={})) as running:
        yield running


def client(server: ServerThread, key: str) -> openai.OpenAI:
    return server.track(openai.OpenAI(base_url=server.url + "/v1", api_key=key, max_retries=0))


def test_round_trip_and_ownership(server: ServerThread) -> None:
    alice, bob, master = (client(server, k) for k in ("vk-alice-000001", "vk-bob-00000002", MASTER))
    created = alice.files.create(file=("notes.jsonl", b'{"a": 1}\n' * 100), purpose="batch")
    assert created.filename == "notes.jsonl" and created.bytes == 900
    assert created.purpose == "batch" and created.id.startswith("file-")
    assert alice.files.retrieve(created.id).id == created.id
    assert alice.files.content(created.id).read() == b'{"a": 1}\n' * 100
    assert [f.id for f in alice.files.list()] == [created.id]
    assert list(bob.files.list()) == []
    with pytest.raises(openai.NotFoundError):
        bob.files.retrieve(created.id)
    with pytest.raises(openai.NotFoundError):
        bob.files.delete(created.id)
    assert [f.id for f in master.files.list(purpose="batch")] == [created.id]
    assert alice.files.delete(created.id).deleted is True
    with pytest.raises(openai.NotFoundError):
        alice.files.retrieve(created.id)


def test_pagination(server: ServerThread) -> None:
    alice = client(server, "vk-alice-000001")
    ids = [alice.files.create(file=(f"f{i}.txt", b"x"), purpose="user_data").id for i in range(3)]
    page = alice.files.list(limit=2, order="asc")
    assert [f.id for f in page.data] == ids[:2] and page.has_more
    rest = alice.files.list(limit=2, order="asc", after=ids[1])
    assert [f.id for f in rest.data] == ids[2:]


def test_bad_purpose_is_400(server: ServerThread) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client(server, MASTER).files.create(file=("a.txt", b"x"), purpose="nonsense")  # type: ignore[arg-type]
    assert caught.value.body["param"] == "purpose"  # type: ignore[index]
