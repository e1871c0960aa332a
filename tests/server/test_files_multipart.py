"""The official openai SDK against FileStore + the upload parser behind a tiny aiohttp app.

The real routes live in the server; this stand-in wires the same calls so the SDK's own
models and paginator check the wire shapes (File object, list page, deletion, errors).
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from literllm.config.schema import FilesConfig
from literllm.errors import LiterLLMError
from literllm.storage.files import FileStore
from literllm_server.uploads import parse_file_upload

openai = pytest.importorskip("openai")
web = pytest.importorskip("aiohttp.web")

MASTER = "sk-master"
LIMIT = 256 * 1024


def owner_of(request: Any) -> str | None:
    token = request.headers.get("Authorization", "").removeprefix("Bearer ")
    return None if token == MASTER else hashlib.sha256(token.encode()).hexdigest()


def build_app(store: FileStore) -> Any:
    @web.middleware
    async def errors(request: Any, handler: Any) -> Any:
        try:
            return await handler(request)
        except LiterLLMError as exc:
            return web.json_response(exc.to_dict(), status=exc.status)

    async def create(request: Any) -> Any:
        upload = await parse_file_upload(
            request.headers.get("Content-Type"),
            request.content.iter_chunked(4096),
            limit=LIMIT,
            content_length=request.content_length,
        )
        created = await store.create(
            owner=owner_of(request),
            filename=upload.filename,
            purpose=upload.known_purpose or upload.purpose,
            chunks=upload.chunks,
        )
        return web.json_response(msgspec.to_builtins(created))

    async def list_files(request: Any) -> Any:
        query = request.query
        page = await store.list(
            owner=owner_of(request),
            purpose=query.get("purpose"),
            limit=int(query.get("limit", 10000)),
            after=query.get("after"),
            order=query.get("order", "desc"),
        )
        return web.json_response(msgspec.to_builtins(page))

    async def retrieve(request: Any) -> Any:
        file_id = request.match_info["file_id"]
        found = await store.retrieve(owner=owner_of(request), file_id=file_id)
        return web.json_response(msgspec.to_builtins(found))

    async def content(request: Any) -> Any:
        file_id = request.match_info["file_id"]
        chunks: AsyncIterator[bytes] = await store.content(owner=owner_of(request), file_id=file_id)
        response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        await response.prepare(request)
        async for chunk in chunks:
            await response.write(chunk)
        await response.write_eof()
        return response

    async def delete(request: Any) -> Any:
        file_id = request.match_info["file_id"]
        deleted = await store.delete(owner=owner_of(request), file_id=file_id)
        return web.json_response(msgspec.to_builtins(deleted))

    app = web.Application(middlewares=[errors], client_max_size=LIMIT * 4)
    app.router.add_post("/v1/files", create)
    app.router.add_get("/v1/files", list_files)
    app.router.add_get("/v1/files/{file_id}", retrieve)
    app.router.add_get("/v1/files/{file_id}/content", content)
    app.router.add_delete("/v1/files/{file_id}", delete)
    return app


@pytest.fixture
async def base_url(tmp_path: Path, clock: Any) -> AsyncIterator[str]:
    config = FilesConfig(backend="fs", backend_config={"root": str(tmp_path)})
    runner = web.AppRunner(build_app(FileStore.from_config(config, clock=clock)))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}/v1"
    await runner.cleanup()


@pytest.fixture
async def clients(base_url: str) -> AsyncIterator[dict[str, Any]]:
    made = {
        name: openai.AsyncOpenAI(base_url=base_url, api_key=key, max_retries=0)
        for name, key in (("alice", "sk-alice"), ("bob", "sk-bob"), ("master", MASTER))
    }
    yield made
    for client in made.values():
        await client.close()


async def test_sdk_round_trip(clients: dict[str, Any], clock: Any) -> None:
    alice = clients["alice"]
    data = b'{"custom_id":"1"}\n' * 1000
    created = await alice.files.create(file=("batch.jsonl", data), purpose="batch")
    assert created.id.startswith("file-")
    assert (created.object, created.bytes, created.filename, created.purpose) == (
        "file",
        len(data),
        "batch.jsonl",
        "batch",
    )
    assert created.status == "processed"
    assert (await alice.files.retrieve(created.id)).id == created.id
    assert (await alice.files.content(created.id)).content == data
    page = await alice.files.list()
    assert [item.id for item in page.data] == [created.id]
    deleted = await alice.files.delete(created.id)
    assert (deleted.id, deleted.deleted) == (created.id, True)
    with pytest.raises(openai.NotFoundError):
        await alice.files.retrieve(created.id)


async def test_sdk_ownership(clients: dict[str, Any]) -> None:
    created = await clients["alice"].files.create(file=("a.txt", b"private"), purpose="user_data")
    bob = clients["bob"]
    with pytest.raises(openai.NotFoundError):
        await bob.files.retrieve(created.id)
    with pytest.raises(openai.NotFoundError):
        await bob.files.content(created.id)
    with pytest.raises(openai.NotFoundError):
        await bob.files.delete(created.id)
    assert [item.id async for item in bob.files.list()] == []
    assert [item.id async for item in clients["master"].files.list()] == [created.id]


async def test_sdk_auto_pagination_and_purpose_filter(clients: dict[str, Any], clock: Any) -> None:
    alice = clients["alice"]
    made = []
    for index in range(5):
        purpose = "batch" if index % 2 == 0 else "vision"
        made.append((await alice.files.create(file=(f"{index}.txt", b"x"), purpose=purpose)).id)
        clock.advance(1)
    seen = [item.id async for item in alice.files.list(limit=2, order="asc")]
    assert seen == made
    batch = [item.id async for item in alice.files.list(purpose="batch", limit=1)]
    assert batch == [made[4], made[2], made[0]]


async def test_sdk_errors(clients: dict[str, Any]) -> None:
    alice = clients["alice"]
    with pytest.raises(openai.BadRequestError) as bad_purpose:
        await alice.files.create(file=("a.txt", b"x"), purpose="nonsense")
    assert bad_purpose.value.body["param"] == "purpose"
    with pytest.raises(openai.APIStatusError) as too_large:
        await alice.files.create(file=("big.bin", b"x" * (LIMIT + 1)), purpose="batch")
    assert too_large.value.status_code == 413
    assert [item async for item in alice.files.list()] == []
