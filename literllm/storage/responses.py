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

import msgspec
import opendal

from ..config.schema import FilesConfig
from ..errors import NotFoundError, ServiceUnavailableError
from .blob import build_operator

__all__ = ["ResponseDeleted", "ResponseItemList", "ResponseStore", "StoredResponse"]

_ID = re.compile(r"^resp_[A-Za-z0-9]{1,64}$")


class StoredResponse(msgspec.Struct, kw_only=True, dict=True):
    """A stored Response object, as `proxy.responses.retrieve` returns it.

    The attributes are the fields of OpenAI's Response object (`UNSET` where the answer
    had none; items and settings as plain JSON values). `to_dict()` gives the object
    exactly as the client got it, fields unknown here (a newer OpenAI answer's)
    included; that is what `GET /v1/responses/{id}` sends.
    """

    id: str
    object: str = "response"
    created_at: Any = msgspec.UNSET
    completed_at: Any = msgspec.UNSET
    status: Any = msgspec.UNSET
    error: Any = msgspec.UNSET
    incomplete_details: Any = msgspec.UNSET
    instructions: Any = msgspec.UNSET
    max_output_tokens: Any = msgspec.UNSET
    max_tool_calls: Any = msgspec.UNSET
    model: Any = msgspec.UNSET
    output: Any = msgspec.field(default_factory=list)
    parallel_tool_calls: Any = msgspec.UNSET
    previous_response_id: Any = msgspec.UNSET
    reasoning: Any = msgspec.UNSET
    store: Any = msgspec.UNSET
    temperature: Any = msgspec.UNSET
    text: Any = msgspec.UNSET
    tool_choice: Any = msgspec.UNSET
    tools: Any = msgspec.UNSET
    top_logprobs: Any = msgspec.UNSET
    top_p: Any = msgspec.UNSET
    truncation: Any = msgspec.UNSET
    usage: Any = msgspec.UNSET
    metadata: Any = msgspec.UNSET
    user: Any = msgspec.UNSET
    safety_identifier: Any = msgspec.UNSET
    prompt_cache_key: Any = msgspec.UNSET
    service_tier: Any = msgspec.UNSET
    background: Any = msgspec.UNSET

    @classmethod
    def from_dict(cls, value: dict[str, Any]) -> StoredResponse:
        stored = msgspec.convert(value, cls)
        stored._wire = value  # type: ignore[attr-defined]
        return stored

    def to_dict(self) -> dict[str, Any]:
        wire: dict[str, Any] | None = self.__dict__.get("_wire")
        return wire if wire is not None else msgspec.to_builtins(self)

    @property
    def output_text(self) -> str:
        """The text of the output's messages, joined (as the openai SDK's)."""
        return "".join(
            str(part.get("text", ""))
            for item in (self.output if isinstance(self.output, list) else ())
            if isinstance(item, dict) and item.get("type") == "message"
            for part in item.get("content") or ()
            if isinstance(part, dict) and part.get("type") == "output_text"
        )


class ResponseItemList(msgspec.Struct, kw_only=True):
    """`GET /v1/responses/{id}/input_items`: one page of input items (plain JSON)."""

    object: str
    data: list[dict[str, Any]]
    first_id: str | None
    last_id: str | None
    has_more: bool


class ResponseDeleted(msgspec.Struct, kw_only=True):
    id: str
    object: str
    deleted: bool


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

    async def put_new(self, response_id: Any, record: dict[str, Any]) -> bool:
        """Store a record under an id the gateway did not make (an upstream's): False,
        and nothing written, when the id is malformed or already taken."""
        if not isinstance(response_id, str) or not _ID.match(response_id):
            return False
        data = json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode()
        path = self._path(response_id)
        try:
            await self._operator.write(path, data, if_not_exists=True)
        except (opendal.exceptions.ConditionNotMatch, opendal.exceptions.AlreadyExists):
            return False
        except opendal.exceptions.Unsupported:
            # a backend without conditional writes: look first (a narrow race remains)
            try:
                await self._operator.stat(path)
                return False
            except opendal.exceptions.NotFound:
                pass
            except Exception as exc:
                raise _unavailable(exc) from exc
            await self.put(response_id, record)
        except Exception as exc:
            raise _unavailable(exc) from exc
        return True

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
