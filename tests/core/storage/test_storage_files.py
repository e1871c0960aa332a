"""FileStore: round trip, ownership, pagination, purpose, persistence, failures."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import msgspec
import pytest

from literllm.config.schema import FilesConfig
from literllm.errors import (
    BadRequestError,
    ConfigError,
    NotFoundError,
    PayloadTooLargeError,
    ServiceUnavailableError,
)
from literllm.storage.files import FileStore
from tests.support.openapi import validate


async def chunks_of(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def read_all(stream: AsyncIterator[bytes]) -> bytes:
    return b"".join([chunk async for chunk in stream])


@pytest.fixture(params=["memory", "fs", "s3"])
def files_config(request: pytest.FixtureRequest, tmp_path: Path) -> FilesConfig:
    if request.param == "memory":
        return FilesConfig(backend="memory")
    if request.param == "fs":
        return FilesConfig(backend="fs", backend_config={"root": str(tmp_path)})
    options = request.getfixturevalue("s3_options")
    return FilesConfig(backend="s3", prefix="team/files/", backend_config=options)


@pytest.fixture
def store(files_config: FilesConfig, clock: Any) -> FileStore:
    return FileStore.from_config(files_config, clock=clock)


async def upload(
    store: FileStore, *, owner: str | None = "alice", purpose: str = "batch", data: bytes = b"x"
) -> dict[str, Any]:
    return await store.create(
        owner=owner, filename="in.jsonl", purpose=purpose, chunks=chunks_of(data)
    )


async def test_round_trip(store: FileStore, clock: Any) -> None:
    created = await store.create(
        owner="alice",
        filename="batch.jsonl",
        purpose="batch",
        chunks=chunks_of(b'{"a":1}\n', b"", b'{"b":2}\n'),
    )
    assert created.id.startswith("file-")
    # OpenAI's File object; expires_at and status_details are left out while unset.
    assert msgspec.json.decode(msgspec.json.encode(created)) == {
        "id": created.id,
        "object": "file",
        "bytes": 16,
        "created_at": int(clock.time()),
        "filename": "batch.jsonl",
        "purpose": "batch",
        "status": "processed",
    }
    validate(msgspec.to_builtins(created), "OpenAIFile")
    assert await store.retrieve(owner="alice", file_id=created.id) == created
    content = await store.content(owner="alice", file_id=created.id)
    assert await read_all(content) == b'{"a":1}\n{"b":2}\n'
    listed = await store.list(owner="alice")
    assert listed.data == [created]
    deleted = await store.delete(owner="alice", file_id=created.id)
    assert msgspec.to_builtins(deleted) == {"id": created.id, "object": "file", "deleted": True}
    with pytest.raises(NotFoundError):
        await store.retrieve(owner="alice", file_id=created.id)
    with pytest.raises(NotFoundError):
        await store.content(owner="alice", file_id=created.id)
    assert (await store.list(owner=None)).data == []


def null_optional_fields(root: Path) -> None:
    """Rewrite the stored File object as earlier versions stored it (with nulls)."""
    meta_path = next(root.rglob("meta.json"))
    meta = json.loads(meta_path.read_text())
    meta["file"].update(expires_at=None, status_details=None)
    meta_path.write_text(json.dumps(meta))


async def test_files_stored_with_null_fields_are_served_without_them(
    clock: Any, tmp_path: Path
) -> None:
    store = FileStore.from_config(
        FilesConfig(backend="fs", backend_config={"root": str(tmp_path)}), clock=clock
    )
    created = await upload(store)
    null_optional_fields(tmp_path)
    retrieved = msgspec.to_builtins(await store.retrieve(owner="alice", file_id=created.id))
    assert "expires_at" not in retrieved and "status_details" not in retrieved
    validate(retrieved, "OpenAIFile")
    listed = msgspec.to_builtins(await store.list(owner="alice"))
    assert listed["data"] == [retrieved]
    validate(listed, "ListFilesResponse")


async def test_large_upload_in_many_chunks(store: FileStore) -> None:
    part = bytes(range(256)) * 4096  # 1 MiB
    created = await store.create(
        owner=None, filename="big.bin", purpose="user_data", chunks=chunks_of(*[part] * 6)
    )
    assert created.bytes == 6 * len(part)
    content = await store.content(owner=None, file_id=created.id)
    chunks = [chunk async for chunk in content]
    assert len(chunks) > 1  # streamed back, not in one piece
    assert b"".join(chunks) == part * 6


async def test_other_owner_gets_404_and_master_sees_all(store: FileStore) -> None:
    mine = await upload(store, owner="alice")
    theirs = await upload(store, owner="bob")
    for call in (store.retrieve, store.content, store.delete):
        with pytest.raises(NotFoundError) as caught:
            await call(owner="bob", file_id=mine.id)
        assert caught.value.status == 404
        assert mine.id in caught.value.message
    assert [f.id for f in (await store.list(owner="bob")).data] == [theirs.id]
    everything = await store.list(owner=None)
    assert {f.id for f in everything.data} == {mine.id, theirs.id}
    assert (await store.retrieve(owner=None, file_id=mine.id)).id == mine.id
    await store.delete(owner=None, file_id=mine.id)
    assert [f.id for f in (await store.list(owner="alice")).data] == []


async def test_master_key_files_are_invisible_to_virtual_keys(store: FileStore) -> None:
    admin = await upload(store, owner=None)
    with pytest.raises(NotFoundError):
        await store.retrieve(owner="alice", file_id=admin.id)


@pytest.mark.parametrize("file_id", ["file-../x", "../meta.json", "file-a/b", "nope", ""])
async def test_malformed_ids_are_404(store: FileStore, file_id: str) -> None:
    with pytest.raises(NotFoundError):
        await store.retrieve(owner=None, file_id=file_id)


def ids(page: dict[str, Any]) -> list[str]:
    return [item.id for item in page.data]


async def test_pagination(store: FileStore, clock: Any) -> None:
    created = []
    for _ in range(5):
        created.append((await upload(store)).id)
        clock.advance(0.25)  # several files share a created_at second
    newest_first = list(reversed(created))

    page = await store.list(owner="alice", limit=2)
    assert ids(page) == newest_first[:2]
    assert (page.first_id, page.last_id, page.has_more) == (
        newest_first[0],
        newest_first[1],
        True,
    )
    page = await store.list(owner="alice", limit=2, after=page.last_id)
    assert ids(page) == newest_first[2:4]
    assert page.has_more is True
    page = await store.list(owner="alice", limit=2, after=page.last_id)
    assert ids(page) == newest_first[4:]
    assert page.has_more is False

    ascending = await store.list(owner="alice", order="asc", limit=3)
    assert ids(ascending) == created[:3]
    rest = await store.list(owner="alice", order="asc", after=created[2])
    assert ids(rest) == created[3:]
    assert rest.has_more is False
    exact = await store.list(owner="alice", limit=5)
    assert exact.has_more is False

    assert msgspec.to_builtins(await store.list(owner="bob")) == {
        "object": "list",
        "data": [],
        "first_id": None,
        "last_id": None,
        "has_more": False,
    }


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [({"limit": 0}, "limit"), ({"limit": 10_001}, "limit"), ({"order": "up"}, "order")],
)
async def test_invalid_list_parameters(store: FileStore, kwargs: Any, param: str) -> None:
    with pytest.raises(BadRequestError) as caught:
        await store.list(owner=None, **kwargs)
    assert caught.value.param == param


async def test_after_must_be_a_visible_file(store: FileStore) -> None:
    theirs = await upload(store, owner="bob")
    with pytest.raises(BadRequestError) as caught:
        await store.list(owner="alice", after=theirs.id)
    assert caught.value.param == "after"


async def test_purpose_filter(store: FileStore) -> None:
    batch = await upload(store, purpose="batch")
    await upload(store, purpose="fine-tune")
    assert ids(await store.list(owner="alice", purpose="batch")) == [batch.id]
    assert ids(await store.list(owner="alice", purpose="vision")) == []


async def test_invalid_purpose_is_rejected_before_any_byte_is_read(store: FileStore) -> None:
    pulled: list[bytes] = []

    async def tracking() -> AsyncIterator[bytes]:
        pulled.append(b"x")
        yield b"x"

    with pytest.raises(BadRequestError) as caught:
        await store.create(owner="a", filename="f", purpose="training", chunks=tracking())
    assert caught.value.param == "purpose"
    assert caught.value.status == 400
    assert pulled == []


async def test_late_purpose_is_read_after_the_content(store: FileStore) -> None:
    form: dict[str, str] = {}

    async def content_then_purpose() -> AsyncIterator[bytes]:
        yield b"data"
        form["purpose"] = "assistants"

    created = await store.create(
        owner="a", filename="f", purpose=lambda: form["purpose"], chunks=content_then_purpose()
    )
    assert created.purpose == "assistants"


def leftover_objects(config: FilesConfig) -> Iterable[Path]:
    if config.backend != "fs":
        return []
    return [path for path in Path(str(config.backend_config["root"])).rglob("*") if path.is_file()]


async def test_invalid_late_purpose_discards_the_content(
    store: FileStore, files_config: FilesConfig
) -> None:
    with pytest.raises(BadRequestError) as caught:
        await store.create(
            owner="a", filename="f", purpose=lambda: "nonsense", chunks=chunks_of(b"data")
        )
    assert caught.value.param == "purpose"
    assert (await store.list(owner=None)).data == []
    assert list(leftover_objects(files_config)) == []


async def test_failed_upload_leaves_nothing_visible(
    store: FileStore, files_config: FilesConfig
) -> None:
    async def too_big() -> AsyncIterator[bytes]:
        yield b"first part"
        raise PayloadTooLargeError("too large")

    with pytest.raises(PayloadTooLargeError):
        await store.create(owner="a", filename="f", purpose="batch", chunks=too_big())
    assert (await store.list(owner=None)).data == []
    assert list(leftover_objects(files_config)) == []


async def test_restart_on_fs_lists_the_same_files(tmp_path: Path, clock: Any) -> None:
    config = FilesConfig(backend="fs", backend_config={"root": str(tmp_path)})
    first = FileStore.from_config(config, clock=clock)
    created = await upload(first, data=b"persisted")
    clock.advance(1)
    second_file = await upload(first, owner="bob")

    restarted = FileStore.from_config(config, clock=clock)
    assert (await restarted.list(owner="alice")).data == [created]
    assert ids(await restarted.list(owner=None)) == [second_file.id, created.id]
    content = await restarted.content(owner="alice", file_id=created.id)
    assert await read_all(content) == b"persisted"


async def test_listing_ignores_unrelated_and_incomplete_objects(tmp_path: Path, clock: Any) -> None:
    config = FilesConfig(backend="fs", backend_config={"root": str(tmp_path)})
    store = FileStore.from_config(config, clock=clock)
    created = await upload(store)
    files_root = tmp_path / "liter-llm-files"
    (files_root / "README").write_text("not a file object")
    (files_root / "file-incomplete").mkdir()
    (files_root / "file-incomplete" / "content").write_bytes(b"upload in progress")
    (files_root / "file-torn").mkdir()
    (files_root / "file-torn" / "meta.json").write_bytes(b"{not json")
    (files_root / "file-foreign").mkdir()
    (files_root / "file-foreign" / "meta.json").write_bytes(b'{"file": {"id": "file-x"}}')
    assert ids(await store.list(owner=None)) == [created.id]


def test_memory_backend_warns_that_files_vanish(clock: Any, tmp_path: Path) -> None:
    memory = FileStore.from_config(FilesConfig(), clock=clock)
    assert memory.startup_warning is not None
    assert "vanish on restart" in memory.startup_warning
    fs = FileStore.from_config(
        FilesConfig(backend="fs", backend_config={"root": str(tmp_path)}), clock=clock
    )
    assert fs.startup_warning is None


def test_backend_that_cannot_list_is_a_config_error(clock: Any) -> None:
    config = FilesConfig(backend="redis", backend_config={"endpoint": "redis://127.0.0.1:1"})
    with pytest.raises(ConfigError, match="cannot list"):
        FileStore.from_config(config, clock=clock)


def test_unknown_backend_is_a_config_error(clock: Any) -> None:
    with pytest.raises(ConfigError, match=r"\[files\] backend = 'nope'"):
        FileStore.from_config(FilesConfig(backend="nope"), clock=clock)


async def test_backend_failure_is_503(tmp_path: Path, clock: Any) -> None:
    not_a_directory = tmp_path / "plain-file"
    not_a_directory.write_text("x")
    config = FilesConfig(backend="fs", backend_config={"root": str(not_a_directory)})
    store = FileStore.from_config(config, clock=clock)
    with pytest.raises(ServiceUnavailableError) as caught:
        await upload(store)
    assert caught.value.status == 503


async def test_files_stored_under_the_old_key_id_stay_readable_by_their_key(
    store: FileStore,
) -> None:
    # Before 0.2 a file's owner was written as "k_<digest>"; the key id is now "k-<digest>".
    digest = "0123456789abcdef"
    created = await store.create(
        owner="k_" + digest, filename="old.jsonl", purpose="batch", chunks=chunks_of(b"x")
    )
    assert (await store.retrieve(owner="k-" + digest, file_id=created.id)).id == created.id
    assert ids(await store.list(owner="k-" + digest)) == [created.id]
    with pytest.raises(NotFoundError):
        await store.retrieve(owner="k-fedcba9876543210", file_id=created.id)
