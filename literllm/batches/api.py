"""`proxy.batches`: create, list, retrieve and cancel batches, each as the caller's key
(a key sees only its own batches; the master key sees all)."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import msgspec

from ..auth import Authenticator, Caller
from ..clock import Clock
from ..errors import BadRequestError, NotFoundError
from .book import BatchBook, counts
from .lines import parse_input
from .model import FINISHED, BatchDoc, BatchObject, RequestCounts
from .runner import BatchRunner

if TYPE_CHECKING:
    from ..storage.files import FileStore

__all__ = ["BATCH_ENDPOINTS", "BatchList", "BatchesAPI"]

BATCH_ENDPOINTS = frozenset(
    {
        "/v1/chat/completions",
        "/v1/embeddings",
        "/v1/completions",
        "/v1/moderations",
        "/v1/responses",
    }
)
_WINDOWS = {"24h": 24 * 3600}


class BatchList(msgspec.Struct, kw_only=True):
    object: str
    data: list[BatchObject]
    first_id: str | None
    last_id: str | None
    has_more: bool


class _Create(msgspec.Struct, forbid_unknown_fields=True):
    input_file_id: str
    endpoint: str
    completion_window: str
    metadata: dict[str, str] | None = None


class BatchesAPI:
    def __init__(
        self,
        auth: Authenticator,
        book: BatchBook,
        files: FileStore,
        runner: BatchRunner,
        clock: Clock,
    ) -> None:
        self._auth = auth
        self._book = book
        self._files = files
        self.runner = runner
        self._clock = clock

    def _caller(self, api_key: str | None) -> Caller:
        return self._auth.authenticate(api_key)

    @staticmethod
    def _owner(caller: Caller) -> str | None:
        return None if caller.is_master else caller.identity

    async def create(self, body: bytes | Mapping[str, Any], *, api_key: str | None) -> BatchObject:
        """`POST /v1/batches`: the input file is checked line by line at once; a batch
        whose file has bad lines is answered `failed` with the errors."""
        caller = self._caller(api_key)
        from ..requests import check_shape, decode_body

        body = decode_body(body)
        check_shape(body, _Create)
        request = msgspec.convert(body, _Create)
        if request.endpoint not in BATCH_ENDPOINTS:
            raise BadRequestError(
                f"endpoint must be one of {', '.join(sorted(BATCH_ENDPOINTS))}",
                param="endpoint",
            )
        window = _WINDOWS.get(request.completion_window)
        if window is None:
            raise BadRequestError("completion_window must be '24h'", param="completion_window")
        if request.metadata is not None and len(request.metadata) > 16:
            raise BadRequestError("metadata holds at most 16 pairs", param="metadata")
        owner = self._owner(caller)
        file = await self._files.retrieve(owner=owner, file_id=request.input_file_id)
        if file.purpose != "batch":
            raise BadRequestError(
                "the input file must be uploaded with purpose 'batch'", param="input_file_id"
            )
        chunks = await self._files.content(owner=owner, file_id=request.input_file_id)
        data = b"".join([chunk async for chunk in chunks])
        lines, errors = parse_input(data, request.endpoint)
        now = int(self._clock.time())
        doc = BatchDoc(
            id="batch_" + secrets.token_hex(12),
            object="batch",
            endpoint=request.endpoint,
            input_file_id=request.input_file_id,
            completion_window=request.completion_window,
            status="in_progress",
            created_at=now,
            expires_at=now + window,
            in_progress_at=now,
            metadata=request.metadata,
            request_counts=RequestCounts(total=len(lines)),
            owner=owner,
            key=caller.identity,
            total=len(lines),
        )
        if errors:
            doc.status, doc.in_progress_at, doc.failed_at = "failed", None, now
            doc.errors = {"object": "list", "data": errors}
            doc.request_counts = RequestCounts(total=len(lines))
        await self._book.save(doc)
        if not errors:
            self.runner.wake()
        return doc.public()

    async def _visible(self, batch_id: str, caller: Caller) -> BatchDoc:
        doc = await self._book.load(batch_id)
        if doc is None or not (caller.is_master or doc.key == caller.identity):
            raise NotFoundError(f"no batch {batch_id!r}", param="batch_id")
        return doc

    async def retrieve(self, batch_id: str, *, api_key: str | None) -> BatchObject:
        doc = await self._visible(batch_id, self._caller(api_key))
        return (await self._with_counts(doc)).public()

    async def _with_counts(self, doc: BatchDoc) -> BatchDoc:
        if doc.status not in FINISHED and doc.status != "failed":
            completed, failed = counts(await self._book.results(doc.id))
            doc.request_counts = RequestCounts(total=doc.total, completed=completed, failed=failed)
        return doc

    async def list(
        self, *, api_key: str | None, after: str | None = None, limit: int = 20
    ) -> BatchList:
        caller = self._caller(api_key)
        if not 1 <= limit <= 100:
            raise BadRequestError("limit must be between 1 and 100", param="limit")
        docs = [d for d in await self._book.all() if caller.is_master or d.key == caller.identity]
        docs.sort(key=lambda d: (d.created_at, d.id), reverse=True)
        if after is not None:
            ids = [d.id for d in docs]
            docs = docs[ids.index(after) + 1 :] if after in ids else []
        page = docs[:limit]
        data = [(await self._with_counts(d)).public() for d in page]
        return BatchList(
            object="list",
            data=data,
            first_id=data[0].id if data else None,
            last_id=data[-1].id if data else None,
            has_more=len(docs) > limit,
        )

    async def cancel(self, batch_id: str, *, api_key: str | None) -> BatchObject:
        doc = await self._visible(batch_id, self._caller(api_key))
        if doc.status in ("in_progress", "validating"):
            doc.status, doc.cancelling_at = "cancelling", int(self._clock.time())
            await self._book.save(doc)
            self.runner.wake()
        elif doc.status not in ("cancelling", "cancelled"):
            raise BadRequestError(f"a batch that is {doc.status} cannot be cancelled")
        return (await self._with_counts(doc)).public()

    async def resume(self) -> None:
        """At start-up: work on batches left unfinished by an earlier run."""
        if any(d.status not in FINISHED for d in await self._book.all()):
            self.runner.wake()
