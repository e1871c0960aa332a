"""Stored Responses (`store: true`) on the `[files]` OpenAI-DAL backend.

One JSON object per response at `<files prefix>responses/<id>.json`: the Response
object, its input items, the conversation items before it (so `previous_response_id`
continues a conversation without walking the chain) and the owner's key id. On a
persistent backend (`fs`, `s3`, ...) conversations survive restarts; on `memory` they
live as long as the process. A response of another key and a missing one are the
same 404, so ids never leak. Backend failures raise 503.
"""

from __future__ import annotations

import json
import re
from typing import Any

import opendal

from ..config.schema import FilesConfig
from ..errors import NotFoundError, ServiceUnavailableError
from .blob import build_operator

__all__ = ["ResponseStore"]

_ID = re.compile(r"^resp_[A-Za-z0-9]{1,64}$")


class ResponseStore:
    def __init__(self, operator: opendal.AsyncOperator, *, prefix: str) -> None:
        self._operator = operator
        self._prefix = prefix.lstrip("/") + "responses/"

    @classmethod
    def from_config(cls, config: FilesConfig) -> ResponseStore:
        """No I/O; raises ConfigError for a bad backend (as `[files]` does)."""
        operator = build_operator(config.backend, config.backend_config, table="files")
        return cls(operator, prefix=config.prefix)

    def _path(self, response_id: str) -> str:
        return self._prefix + response_id + ".json"

    async def put(self, response_id: str, record: dict[str, Any]) -> None:
        data = json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode()
        try:
            await self._operator.write(self._path(response_id), data)
        except Exception as exc:
            raise _unavailable(exc) from exc

    async def get(self, response_id: str, owner: str | None) -> dict[str, Any]:
        """The stored record; `owner` None (the master key) may read any."""
        if not _ID.match(response_id):
            raise _not_found(response_id)
        try:
            raw = await self._operator.read(self._path(response_id))
        except opendal.exceptions.NotFound:
            raise _not_found(response_id) from None
        except Exception as exc:
            raise _unavailable(exc) from exc
        try:
            record = json.loads(bytes(raw))
        except ValueError:
            raise _not_found(response_id) from None
        if not isinstance(record, dict) or (owner is not None and record.get("owner") != owner):
            raise _not_found(response_id)
        return record

    async def delete(self, response_id: str, owner: str | None) -> None:
        await self.get(response_id, owner)
        try:
            await self._operator.delete(self._path(response_id))
        except Exception as exc:
            raise _unavailable(exc) from exc


def _not_found(response_id: str) -> NotFoundError:
    return NotFoundError(
        f"No response with id {response_id!r} found (it may belong to another key, "
        "or was created with store: false)",
        param="response_id",
    )


def _unavailable(exc: Exception) -> ServiceUnavailableError:
    detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return ServiceUnavailableError(f"the response storage backend failed ({detail}); retry later")
