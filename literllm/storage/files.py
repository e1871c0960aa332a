"""`/v1/files` storage on an OpenDAL backend, with OpenAI's File object shape.

API used by the Proxy and the server::

    store = FileStore.from_config(config.files, clock=clock)   # no I/O; ConfigError
    store.startup_warning                     # str for the `memory` backend, else None
    await store.create(owner=..., filename=..., purpose=..., chunks=...)  # File object
    await store.list(owner=..., purpose=None, limit=10000, after=None, order="desc")
    await store.retrieve(owner=..., file_id=...)
    await store.content(owner=..., file_id=...)   # AsyncIterator[bytes], streamed
    await store.delete(owner=..., file_id=...)

`owner` is the stable identity of the calling virtual key (a hash, never the token);
`None` means the master key, which sees every file. A file that does not exist and a
file that belongs to another owner both raise `NotFoundError` (404), so ids never leak.

Layout under `prefix` in the backend: `<prefix><id>/content` holds the bytes and
`<prefix><id>/meta.json` the File object plus its owner. The content is streamed to
the backend through an OpenDAL writer (never buffered whole) and `meta.json` is
written last, so a file becomes visible only once complete; a failed upload is
removed best-effort. Listing scans the prefix and reads each `meta.json`, so a gateway
restarted on a persistent backend (`fs`, `s3`, `gcs`, `azblob`, ...) lists the same
files. Backend failures raise `ServiceUnavailableError` (503).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, Literal, TypeVar

import msgspec
import opendal

from literllm.clock import Clock
from literllm.config.schema import FilesConfig
from literllm.errors import (
    BadRequestError,
    ConfigError,
    NotFoundError,
    PayloadTooLargeError,
    ServiceUnavailableError,
)
from literllm.storage.blob import build_operator

__all__ = ["FILE_PURPOSES", "FileDeleted", "FileList", "FileObject", "FileStore"]

FILE_PURPOSES: frozenset[str] = frozenset(
    {"assistants", "batch", "fine-tune", "vision", "user_data", "evals"}
)
"""The `purpose` values OpenAI accepts for uploads."""
GATEWAY_PURPOSES: frozenset[str] = frozenset({"batch_output"})
"""Purposes of files the gateway itself writes (batch results); never accepted on upload."""

_FILE_ID = re.compile(r"^file-[A-Za-z0-9]{1,64}$")
_READ_CHUNK = 64 * 1024
_LIST_CONCURRENCY = 16
_MAX_LIST_LIMIT = 10_000

_T = TypeVar("_T")


class FileObject(msgspec.Struct, kw_only=True, omit_defaults=True):
    """OpenAI's File object; `expires_at` and `status_details` are left out when unset
    (OpenAI's schema allows no nulls there)."""

    id: str
    object: str
    bytes: int
    created_at: int
    filename: str
    purpose: str
    status: str
    expires_at: int | None = None
    status_details: str | None = None


class FileList(msgspec.Struct, kw_only=True):
    object: str
    data: list[FileObject]
    first_id: str | None
    last_id: str | None
    has_more: bool


class FileDeleted(msgspec.Struct, kw_only=True):
    id: str
    object: str
    deleted: bool


class FileStore:
    """Files and their metadata under one prefix of one OpenDAL operator."""

    def __init__(
        self,
        operator: opendal.AsyncOperator,
        *,
        prefix: str,
        clock: Clock,
        backend: str,
        max_file_bytes: int = 0,
        max_bytes_per_key: int = 0,
    ) -> None:
        self._operator = operator
        self._prefix = _normalise_prefix(prefix)
        self._clock = clock
        self.backend = backend
        self.max_file_bytes = max_file_bytes
        self.max_bytes_per_key = max_bytes_per_key
        # Bytes of uploads being written, per owner: counted against the quota with the
        # stored files, so parallel uploads of one key cannot pass it together.
        self._uploading: dict[str | None, int] = {}

    @classmethod
    def from_config(cls, config: FilesConfig, *, clock: Clock) -> FileStore:
        """Build the store the `[files]` table describes; no I/O. Raises ConfigError."""
        operator = build_operator(config.backend, config.backend_config, table="files")
        if not operator.capability().list:
            raise ConfigError(
                f"[files] backend = {config.backend!r} cannot list its entries, which "
                "GET /v1/files needs: use fs, s3, gcs, azblob or another object store."
            )
        return cls(
            operator,
            prefix=config.prefix,
            clock=clock,
            backend=config.backend,
            max_file_bytes=config.max_file_bytes,
            max_bytes_per_key=config.max_bytes_per_key,
        )

    @property
    def startup_warning(self) -> str | None:
        """A line to log at startup when stored files will not survive a restart."""
        if self.backend == "memory":
            return (
                '[files] backend = "memory": uploaded files live in this process only and '
                'vanish on restart; set backend = "fs" or an object store to keep them.'
            )
        return None

    async def create(
        self,
        *,
        owner: str | None,
        filename: str,
        purpose: str | Callable[[], str],
        chunks: AsyncIterator[bytes],
        written_by_gateway: bool = False,
    ) -> FileObject:
        """Stream `chunks` to the backend and return the new File object.

        `purpose` may be a callable, read once the content is written: multipart forms
        may carry the `purpose` field after the file part (see
        `literllm_server.uploads.FileUpload.purpose`). A known purpose is checked before
        any byte is written.
        """
        if isinstance(purpose, str) and not (written_by_gateway and purpose in GATEWAY_PURPOSES):
            _check_purpose(purpose)
        stored = await self._stored_bytes(owner) if self.max_bytes_per_key else 0
        file_id = "file-" + secrets.token_hex(12)
        base = self._prefix + file_id + "/"
        try:
            size = await self._write_content(base + "content", self._bounded(chunks, owner, stored))
            resolved = purpose if isinstance(purpose, str) else purpose()
            if not (written_by_gateway and resolved in GATEWAY_PURPOSES):
                _check_purpose(resolved)
            created = self._clock.time()
            file_object = FileObject(
                id=file_id,
                object="file",
                bytes=size,
                created_at=int(created),
                filename=filename,
                purpose=resolved,
                status="processed",
            )
            meta = {"file": msgspec.to_builtins(file_object), "owner": owner, "created": created}
            await _backend(self._operator.write(base + "meta.json", _encode(meta)))
        except BaseException:
            await self._discard(base)
            raise
        return file_object

    async def retrieve(self, *, owner: str | None, file_id: str) -> FileObject:
        """The File object, or NotFoundError for a missing or another owner's file."""
        meta = await self._visible_meta(owner, file_id)
        return _file_object(meta)

    async def content(self, *, owner: str | None, file_id: str) -> AsyncIterator[bytes]:
        """The file's bytes as a stream; ownership is checked before it starts."""
        await self._visible_meta(owner, file_id)
        path = self._prefix + file_id + "/content"
        try:
            reader = await _backend(self._operator.open(path, "rb"))
        except _Missing:
            raise _not_found(file_id) from None
        return self._stream(reader)

    async def delete(self, *, owner: str | None, file_id: str) -> FileDeleted:
        """Delete a visible file."""
        await self._visible_meta(owner, file_id)
        base = self._prefix + file_id + "/"
        await _backend(self._operator.delete(base + "meta.json"))
        await self._discard(base)
        return FileDeleted(id=file_id, object="file", deleted=True)

    async def list(
        self,
        *,
        owner: str | None,
        purpose: str | None = None,
        limit: int = _MAX_LIST_LIMIT,
        after: str | None = None,
        order: Literal["asc", "desc"] = "desc",
    ) -> FileList:
        """A page of visible files, newest first by default, OpenAI's list shape."""
        if not 1 <= limit <= _MAX_LIST_LIMIT:
            raise BadRequestError(
                f"limit must be between 1 and {_MAX_LIST_LIMIT}, got {limit}.", param="limit"
            )
        if order not in ("asc", "desc"):
            raise BadRequestError("order must be 'asc' or 'desc'.", param="order")
        metas = [
            meta
            for meta in await self._all_metas()
            if _owned_by(meta, owner) and (purpose is None or meta["file"]["purpose"] == purpose)
        ]
        metas.sort(key=lambda meta: (meta["created"], meta["file"]["id"]))
        if order == "desc":
            metas.reverse()
        ids = [meta["file"]["id"] for meta in metas]
        start = 0
        if after is not None:
            if after not in ids:
                raise BadRequestError(
                    f"after = {after!r} is not one of your files; pass the id of the last "
                    "file of the previous page.",
                    param="after",
                )
            start = ids.index(after) + 1
        page = [_file_object(meta) for meta in metas[start : start + limit]]
        return FileList(
            object="list",
            data=page,
            first_id=page[0].id if page else None,
            last_id=page[-1].id if page else None,
            has_more=start + limit < len(metas),
        )

    async def _stored_bytes(self, owner: str | None) -> int:
        return sum(
            int(meta["file"].get("bytes") or 0)
            for meta in await self._all_metas()
            if (_owned_by(meta, owner) if owner is not None else meta.get("owner") is None)
        )

    async def _bounded(
        self, chunks: AsyncIterator[bytes], owner: str | None, stored: int
    ) -> AsyncIterator[bytes]:
        """`chunks`, refused (413) past the per-file limit or the owner's quota."""
        size = 0
        uploading = self._uploading
        try:
            async for chunk in chunks:
                size += len(chunk)
                uploading[owner] = uploading.get(owner, 0) + len(chunk)
                if self.max_file_bytes and size > self.max_file_bytes:
                    raise PayloadTooLargeError(
                        f"The file is larger than the {self.max_file_bytes} bytes allowed "
                        "per file ([files] max_file_bytes).",
                        code="file_too_large",
                    )
                quota = self.max_bytes_per_key
                if quota and stored + uploading[owner] > quota:
                    raise PayloadTooLargeError(
                        f"This key's files would take more than its quota of {quota} "
                        "bytes ([files] max_bytes_per_key); delete files it no longer needs.",
                        code="storage_quota_exceeded",
                    )
                yield chunk
        finally:
            left = uploading.get(owner, 0) - size
            if left > 0:
                uploading[owner] = left
            else:
                uploading.pop(owner, None)

    async def _write_content(self, path: str, chunks: AsyncIterator[bytes]) -> int:
        size = 0
        writer = await _backend(self._operator.open(path, "wb"))
        try:
            async for chunk in chunks:
                if chunk:
                    await _backend(writer.write(chunk))
                    size += len(chunk)
        except BaseException:
            with contextlib.suppress(Exception):
                await writer.close()
            raise
        await _backend(writer.close())
        return size

    async def _stream(self, reader: opendal.file.AsyncFile) -> AsyncIterator[bytes]:
        try:
            while chunk := await _backend(reader.read(_READ_CHUNK)):
                yield chunk
        finally:
            await reader.close()

    async def _visible_meta(self, owner: str | None, file_id: str) -> dict[str, Any]:
        if not _FILE_ID.match(file_id):
            raise _not_found(file_id)
        meta = await self._read_meta(file_id)
        if meta is None or not _owned_by(meta, owner):
            raise _not_found(file_id)
        return meta

    async def _read_meta(self, file_id: str) -> dict[str, Any] | None:
        try:
            raw = await _backend(self._operator.read(self._prefix + file_id + "/meta.json"))
        except _Missing:
            return None
        try:
            meta = json.loads(raw)
        except ValueError:
            return None  # a torn or foreign object under the prefix is not a file
        if not _is_meta(meta, file_id):
            return None
        try:
            _file_object(meta)
        except msgspec.ValidationError:
            return None
        return meta  # type: ignore[no-any-return]

    async def _all_metas(self) -> Sequence[dict[str, Any]]:
        file_ids: set[str] = set()
        try:
            entries = await _backend(self._operator.list(self._prefix or "/"))
            async for entry in entries:
                name = entry.path.rstrip("/").rsplit("/", 1)[-1]
                if _FILE_ID.match(name):
                    file_ids.add(name)
        except _Missing:
            return []
        except Exception as exc:  # raised while iterating the listing
            raise _translate(exc) from exc
        limiter = asyncio.Semaphore(_LIST_CONCURRENCY)

        async def read(file_id: str) -> dict[str, Any] | None:
            async with limiter:
                return await self._read_meta(file_id)

        metas = await asyncio.gather(*(read(file_id) for file_id in sorted(file_ids)))
        return [meta for meta in metas if meta is not None]

    async def _discard(self, base: str) -> None:
        """Remove a file's objects, best effort (a failed upload, a delete)."""
        for path in (base + "meta.json", base + "content", base):
            try:
                await self._operator.delete(path)
            except Exception:  # leftovers without meta.json are invisible to listing
                continue


class _Missing(Exception):
    """The backend has no object at this path."""


async def _backend(operation: Awaitable[_T]) -> _T:
    """Await a backend call: a missing object is `_Missing`, any other failure a 503."""
    try:
        return await operation
    except Exception as exc:
        raise _translate(exc) from exc


def _translate(exc: Exception) -> Exception:
    if not type(exc).__module__.startswith("opendal"):
        return exc
    if isinstance(exc, opendal.exceptions.NotFound):
        return _Missing()
    detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return ServiceUnavailableError(
        f"The file storage backend failed ({detail}); try again later.",
    )


def _check_purpose(purpose: str) -> None:
    if purpose not in FILE_PURPOSES:
        raise BadRequestError(
            f"purpose {purpose!r} is not supported; use one of: "
            + ", ".join(sorted(FILE_PURPOSES))
            + ".",
            param="purpose",
        )


def _is_meta(value: Any, file_id: str) -> bool:
    """Whether a decoded `meta.json` has the shape `create` writes."""
    if not isinstance(value, dict) or not isinstance(value.get("file"), dict):
        return False
    created = value.get("created")
    return value["file"].get("id") == file_id and isinstance(created, int | float)


def _file_object(meta: dict[str, Any]) -> FileObject:
    return msgspec.convert(meta["file"], FileObject)


def _owned_by(meta: dict[str, Any], owner: str | None) -> bool:
    if owner is None:
        return True
    stored = meta.get("owner")
    # Files stored before 0.2 name their owner "k_<digest>"; the key id is now "k-<digest>".
    if isinstance(stored, str) and stored.startswith("k_"):
        stored = "k-" + stored[2:]
    return stored == owner


def _not_found(file_id: str) -> NotFoundError:
    return NotFoundError(f"No such File object: {file_id}", param="id")


def _encode(value: dict[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _normalise_prefix(prefix: str) -> str:
    prefix = prefix.lstrip("/")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return prefix
