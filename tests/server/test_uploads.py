"""The streaming multipart parser, fed the exact bytes the official openai SDK sends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from literllm.config.schema import FilesConfig
from literllm.errors import BadRequestError, PayloadTooLargeError, UnsupportedMediaTypeError
from literllm.storage.files import FileStore
from literllm_server.uploads import parse_file_upload

# Bytes that look like multipart framing, so a sloppy parser would cut the file short.
TRICKY = b"line one\r\n--not-the-boundary\r\n\r\n--\r\n" + bytes(range(256)) * 400


@pytest.fixture
async def sdk_request() -> tuple[str, bytes]:
    """Content-Type and body of `client.files.create(...)`, captured from the real SDK."""
    openai = pytest.importorskip("openai")
    web = pytest.importorskip("aiohttp.web")
    captured: dict[str, Any] = {}

    async def record(request: Any) -> Any:
        captured["content_type"] = request.headers["Content-Type"]
        captured["body"] = await request.read()
        return web.json_response(
            {
                "id": "file-abc",
                "object": "file",
                "bytes": len(TRICKY),
                "created_at": 0,
                "filename": "data.jsonl",
                "purpose": "batch",
                "status": "processed",
            }
        )

    app = web.Application(client_max_size=16 * 1024 * 1024)
    app.router.add_post("/v1/files", record)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    client = openai.AsyncOpenAI(
        base_url=f"http://127.0.0.1:{port}/v1", api_key="sk-test", max_retries=0
    )
    try:
        await client.files.create(file=("data.jsonl", TRICKY), purpose="batch")
    finally:
        await client.close()
        await runner.cleanup()
    return captured["content_type"], captured["body"]


class Body:
    """An async body that hands out `size`-byte chunks and records how far it was read."""

    def __init__(self, data: bytes, size: int) -> None:
        self.data = data
        self.size = size
        self.sent = 0

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[bytes]:
        for start in range(0, len(self.data), self.size):
            chunk = self.data[start : start + self.size]
            self.sent += len(chunk)
            yield chunk


def body(data: bytes, size: int = 65536) -> AsyncIterator[bytes]:
    return aiter(Body(data, size))


async def drain(stream: AsyncIterator[bytes]) -> bytes:
    return b"".join([chunk async for chunk in stream])


def test_sdk_sends_purpose_before_file(sdk_request: tuple[str, bytes]) -> None:
    content_type, raw = sdk_request
    assert content_type.startswith("multipart/form-data; boundary=")
    assert raw.index(b'name="purpose"') < raw.index(b'name="file"')


@pytest.mark.parametrize("chunk_size", [1, 7, 4096, 10**9])
async def test_parses_the_sdk_request_in_any_chunking(
    sdk_request: tuple[str, bytes], chunk_size: int
) -> None:
    content_type, raw = sdk_request
    upload = await parse_file_upload(content_type, body(raw, chunk_size), limit=len(raw))
    assert upload.filename == "data.jsonl"
    assert upload.known_purpose == "batch"
    assert await drain(upload.chunks) == TRICKY
    assert upload.purpose() == "batch"


async def test_file_is_streamed_not_buffered(sdk_request: tuple[str, bytes]) -> None:
    content_type, raw = sdk_request
    source = Body(raw, 1024)
    upload = await parse_file_upload(content_type, aiter(source), limit=len(raw))
    first = await anext(upload.chunks)
    assert first
    assert source.sent <= 2 * 1024  # the first file bytes arrive long before the body ends
    rest = await drain(upload.chunks)
    assert first + rest == TRICKY
    assert source.sent == len(raw)


async def test_limit_is_enforced_while_streaming(sdk_request: tuple[str, bytes]) -> None:
    content_type, raw = sdk_request
    source = Body(raw, 1024)
    limit = 32 * 1024
    upload = await parse_file_upload(content_type, aiter(source), limit=limit)
    with pytest.raises(PayloadTooLargeError) as caught:
        await drain(upload.chunks)
    assert caught.value.status == 413
    assert "max_file_bytes" in caught.value.message
    assert source.sent <= limit + 1024  # stopped reading at the limit, not at the end


async def test_declared_content_length_over_the_limit_is_rejected_up_front() -> None:
    with pytest.raises(PayloadTooLargeError):
        await parse_file_upload(
            "multipart/form-data; boundary=x", body(b""), limit=10, content_length=11
        )


async def test_sdk_upload_into_a_file_store(sdk_request: tuple[str, bytes], clock: Any) -> None:
    content_type, raw = sdk_request
    store = FileStore.from_config(FilesConfig(), clock=clock)
    upload = await parse_file_upload(content_type, body(raw, 999), limit=len(raw))
    created = await store.create(
        owner="k",
        filename=upload.filename,
        purpose=upload.known_purpose or upload.purpose,
        chunks=upload.chunks,
    )
    assert (created.filename, created.purpose, created.bytes) == (
        "data.jsonl",
        "batch",
        len(TRICKY),
    )
    assert await drain(await store.content(owner="k", file_id=created.id)) == TRICKY


def form(*parts: tuple[str, bytes, str | None], boundary: str = "b0undary") -> bytes:
    out = b""
    for name, value, filename in parts:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        out += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n".encode()
        if filename is not None:
            out += b"Content-Type: application/octet-stream\r\n"
        out += b"\r\n" + value + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


CONTENT_TYPE = "multipart/form-data; boundary=b0undary"


@pytest.mark.parametrize("chunk_size", [1, 5, 1000])
async def test_purpose_after_the_file(chunk_size: int, clock: Any) -> None:
    raw = form(("file", b"payload", "a.txt"), ("purpose", b"fine-tune", None))
    upload = await parse_file_upload(CONTENT_TYPE, body(raw, chunk_size), limit=len(raw))
    if chunk_size < len(raw):
        assert upload.known_purpose is None  # not read yet: it follows the file part
    store = FileStore.from_config(FilesConfig(), clock=clock)
    created = await store.create(
        owner=None,
        filename=upload.filename,
        purpose=upload.known_purpose or upload.purpose,
        chunks=upload.chunks,
    )
    assert created.purpose == "fine-tune"
    assert created.bytes == len(b"payload")


async def test_purpose_before_consuming_chunks_is_a_programming_error() -> None:
    raw = form(("file", b"payload", "a.txt"), ("purpose", b"batch", None))
    upload = await parse_file_upload(CONTENT_TYPE, body(raw, 3), limit=len(raw))
    with pytest.raises(RuntimeError):
        upload.purpose()


async def test_missing_purpose() -> None:
    raw = form(("file", b"payload", "a.txt"))
    upload = await parse_file_upload(CONTENT_TYPE, body(raw), limit=len(raw))
    assert await drain(upload.chunks) == b"payload"
    with pytest.raises(BadRequestError) as caught:
        upload.purpose()
    assert caught.value.param == "purpose"


async def test_missing_file_part() -> None:
    raw = form(("purpose", b"batch", None))
    with pytest.raises(BadRequestError) as caught:
        await parse_file_upload(CONTENT_TYPE, body(raw), limit=len(raw))
    assert caught.value.param == "file"


async def test_two_file_parts_are_rejected() -> None:
    raw = form(("file", b"one", "a.txt"), ("file", b"two", "b.txt"), ("purpose", b"batch", None))
    with pytest.raises(BadRequestError) as caught:
        upload = await parse_file_upload(CONTENT_TYPE, body(raw, 4), limit=len(raw))
        await drain(upload.chunks)
    assert caught.value.param == "file"


async def test_truncated_body_is_a_bad_request() -> None:
    raw = form(("purpose", b"batch", None), ("file", b"payload" * 100, "a.txt"))
    truncated = raw[: len(raw) // 2]
    upload = await parse_file_upload(CONTENT_TYPE, body(truncated, 50), limit=len(raw))
    with pytest.raises(BadRequestError, match="closing boundary"):
        await drain(upload.chunks)


async def test_filename_paths_are_reduced_to_the_base_name() -> None:
    raw = form(("purpose", b"batch", None), ("file", b"x", "C:\\Users\\me\\data.jsonl"))
    upload = await parse_file_upload(CONTENT_TYPE, body(raw), limit=len(raw))
    assert upload.filename == "data.jsonl"


@pytest.mark.parametrize(
    "content_type", [None, "application/json", "application/x-www-form-urlencoded"]
)
async def test_not_multipart_is_415(content_type: str | None) -> None:
    with pytest.raises(UnsupportedMediaTypeError) as caught:
        await parse_file_upload(content_type, body(b"{}"), limit=100)
    assert caught.value.status == 415


async def test_multipart_without_boundary_is_400() -> None:
    with pytest.raises(BadRequestError, match="boundary"):
        await parse_file_upload("multipart/form-data", body(b""), limit=100)


async def test_oversized_form_field_is_rejected() -> None:
    raw = form(("purpose", b"x" * (70 * 1024), None), ("file", b"x", "a.txt"))
    with pytest.raises(BadRequestError) as caught:
        await parse_file_upload(CONTENT_TYPE, body(raw), limit=len(raw))
    assert caught.value.param == "purpose"
