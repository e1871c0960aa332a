"""FileStore limits: a per-file size cap and a per-key storage quota."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from literllm.config.schema import FilesConfig
from literllm.errors import PayloadTooLargeError
from literllm.storage.files import FileObject, FileStore


async def chunks_of(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


def store(clock: Any, **limits: int) -> FileStore:
    return FileStore.from_config(FilesConfig(backend="memory", **limits), clock=clock)


async def upload(files: FileStore, owner: str | None, *parts: bytes) -> FileObject:
    return await files.create(
        owner=owner, filename="f.jsonl", purpose="batch", chunks=chunks_of(*parts)
    )


def test_defaults_are_documented_values() -> None:
    assert FilesConfig().max_file_bytes == 100 * 1024 * 1024
    assert FilesConfig().max_bytes_per_key == 512 * 1024 * 1024


async def test_a_file_past_max_file_bytes_is_refused_and_not_stored(clock: Any) -> None:
    files = store(clock, max_file_bytes=10)
    assert (await upload(files, "alice", b"x" * 10)).bytes == 10
    read: list[int] = []

    async def endless() -> AsyncIterator[bytes]:
        for index in range(1000):
            read.append(index)
            yield b"y" * 4

    with pytest.raises(PayloadTooLargeError) as caught:
        await files.create(owner="alice", filename="f", purpose="batch", chunks=endless())
    assert caught.value.code == "file_too_large" and "max_file_bytes" in caught.value.message
    assert len(read) == 3  # stopped reading at the limit
    assert len((await files.list(owner="alice")).data) == 1


async def test_the_quota_counts_each_key_on_its_own(clock: Any) -> None:
    files = store(clock, max_bytes_per_key=25)
    await upload(files, "alice", b"a" * 10)
    await upload(files, "alice", b"a" * 10)
    with pytest.raises(PayloadTooLargeError) as caught:
        await upload(files, "alice", b"a" * 6)
    assert caught.value.code == "storage_quota_exceeded"
    assert "max_bytes_per_key" in caught.value.message
    await upload(files, "alice", b"a" * 5)  # exactly up to the quota
    await upload(files, "bob", b"b" * 25)  # another key has its own quota
    await upload(files, None, b"m" * 25)  # so does the master key
    listed = (await files.list(owner="alice")).data
    assert sorted(f.bytes for f in listed) == [5, 10, 10]
    await files.delete(owner="alice", file_id=listed[0].id)
    await upload(files, "alice", b"a" * listed[0].bytes)  # deleting makes room


async def test_parallel_uploads_of_one_key_cannot_pass_the_quota_together(clock: Any) -> None:
    files = store(clock, max_bytes_per_key=30)
    both_started = asyncio.Event()
    started = 0

    async def slow(part: bytes) -> AsyncIterator[bytes]:
        nonlocal started
        yield part
        started += 1
        if started == 2:
            both_started.set()
        await both_started.wait()
        yield part

    results = await asyncio.gather(
        files.create(owner="alice", filename="a", purpose="batch", chunks=slow(b"a" * 10)),
        files.create(owner="alice", filename="b", purpose="batch", chunks=slow(b"b" * 10)),
        return_exceptions=True,
    )
    refused = [r for r in results if isinstance(r, PayloadTooLargeError)]
    assert len(refused) == 1
    assert sum(f.bytes for f in (await files.list(owner="alice")).data) == 20


async def test_zero_turns_the_limits_off(clock: Any) -> None:
    files = store(clock, max_file_bytes=0, max_bytes_per_key=0)
    assert (await upload(files, "alice", b"z" * 200_000)).bytes == 200_000
