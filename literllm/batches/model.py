"""A batch as stored (OpenAI's Batch object plus who owns it) and as answered."""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = ["BatchDoc", "BatchObject", "RequestCounts", "decode_doc", "encode_doc"]

FINISHED = frozenset({"completed", "failed", "expired", "cancelled"})


class RequestCounts(msgspec.Struct, kw_only=True):
    total: int = 0
    completed: int = 0
    failed: int = 0


class BatchObject(msgspec.Struct, kw_only=True, omit_defaults=True):
    """OpenAI's Batch object; timestamps and file ids are left out until set."""

    id: str
    object: str
    endpoint: str
    input_file_id: str
    completion_window: str
    status: str
    created_at: int
    expires_at: int | None = None
    in_progress_at: int | None = None
    finalizing_at: int | None = None
    completed_at: int | None = None
    failed_at: int | None = None
    expired_at: int | None = None
    cancelling_at: int | None = None
    cancelled_at: int | None = None
    output_file_id: str | None = None
    error_file_id: str | None = None
    errors: dict[str, Any] | None = None
    metadata: dict[str, str] | None = None
    request_counts: RequestCounts | None = None


class BatchDoc(BatchObject, kw_only=True, omit_defaults=True):
    """What the state store keeps: the object, its owner and its size."""

    owner: str | None = None
    """The `/v1/files` owner of its files (None: the master key)."""
    key: str = ""
    """The identity of the key whose pipeline (limits, budgets) its lines go through."""
    total: int = 0
    finalizer: str | None = None
    """The worker finishing it (set while `finalizing`)."""

    def public(self) -> BatchObject:
        fields = {f: getattr(self, f) for f in BatchObject.__struct_fields__}
        return BatchObject(**fields)


_decode = msgspec.json.Decoder(BatchDoc)
_encode = msgspec.json.Encoder().encode


def decode_doc(text: str) -> BatchDoc:
    return _decode.decode(text)


def encode_doc(doc: BatchDoc) -> str:
    return _encode(doc).decode()
