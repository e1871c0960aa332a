"""`/v1/moderations`: OpenAI's shape, served by OpenAI, Azure and Mistral.

A body without `model` is routed as `omni-moderation-latest` (OpenAI's default), so a
`[[models]]` entry of that name serves the SDK's model-less calls. Answers without
`flagged` (Mistral's) get it: a result is flagged when any category is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import msgspec

from ..errors import BadRequestError
from ..providers.base import Adapter, Target
from ..types import UpstreamResponse
from .base import OperationResult, PassThrough, peek_json, usage_of

__all__ = ["DEFAULT_MODERATION_MODEL", "Moderations"]

DEFAULT_MODERATION_MODEL: Final = "omni-moderation-latest"
_encode = msgspec.json.Encoder().encode


class _Shape(msgspec.Struct):
    input: str | list[str | dict[str, Any]]
    model: str | None = None


class Moderations(PassThrough):
    name = "moderation"
    endpoint = "/v1/moderations"
    kind = "moderation"
    upstream_path = "/moderations"
    cacheable = True

    def validate(self, body: dict[str, Any]) -> None:
        from ..requests import check_shape

        if body.get("model") is None:
            body["model"] = DEFAULT_MODERATION_MODEL
        check_shape(body, _Shape)
        if body["input"] in ("", []):
            raise BadRequestError("'input' must not be empty", param="input", code="invalid_value")

    def estimated_tokens(self, body: Mapping[str, Any]) -> int:
        return max(1, len(_encode(body.get("input"))) // 4)

    def response(
        self, adapter: Adapter, target: Target, response: UpstreamResponse, body: dict[str, Any]
    ) -> OperationResult:
        peek = peek_json(target, response.body)
        raw = response.body
        if b'"flagged"' not in raw:
            answer = msgspec.json.decode(raw)
            for result in answer.get("results") or ():
                if isinstance(result, dict) and "flagged" not in result:
                    categories = result.get("categories") or {}
                    result["flagged"] = any(bool(v) for v in categories.values())
            answer.setdefault("model", target.model)
            raw = _encode(answer)
        return OperationResult(
            body=raw, usage=usage_of(peek), model=peek.model, response_id=peek.id
        )
