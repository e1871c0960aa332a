"""Decode and check a client's request body before anything is spent on it.

Only the fields the gateway relies on are checked; everything else passes through to
the provider untouched, so new OpenAI parameters keep working.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

import msgspec

from .errors import BadRequestError

__all__ = ["check_shape", "decode_body", "validate_chat", "validate_embeddings"]

_PATH = re.compile(r"\$\.([A-Za-z_]+)((?:\[\d+\])?(?:\.[A-Za-z_]+)?)")


class _Message(msgspec.Struct):
    role: str


class _StreamOptions(msgspec.Struct):
    include_usage: bool | None = None


class _ChatShape(msgspec.Struct):
    model: str
    messages: list[_Message]
    stream: bool | None = None
    stream_options: _StreamOptions | None = None
    max_tokens: int | None = None
    max_completion_tokens: int | None = None
    n: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    tools: list[dict[str, Any]] | None = None


class _EmbeddingsShape(msgspec.Struct):
    model: str
    input: str | list[str | int | list[int]]
    dimensions: int | None = None
    encoding_format: Literal["float", "base64"] | None = None


def decode_body(body: bytes | Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(body, bytes) and isinstance(body, Mapping):  # bytes first: ABCs are slow
        return dict(body)
    try:
        value = msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        raise BadRequestError(
            f"the request body is not valid JSON ({exc})", code="invalid_json"
        ) from None
    except RecursionError:
        raise BadRequestError(
            "the request body is nested too deeply; no OpenAI request needs that depth",
            code="invalid_json",
        ) from None
    if not isinstance(value, dict):
        raise BadRequestError("the request body must be a JSON object", code="invalid_json")
    return value


def check_shape(body: dict[str, Any], shape: type[msgspec.Struct]) -> None:
    """400 naming the first field of `body` that does not fit `shape`."""
    try:
        msgspec.convert(body, shape)
    except msgspec.ValidationError as exc:
        text = str(exc)
        match = _PATH.search(text)
        param = match.group(1) + match.group(2) if match else None
        if text.startswith("Object missing required field"):
            field = text.split("`")[1]
            param = f"{param}.{field}" if param else field
            raise BadRequestError(
                f"missing required field {param!r}", param=param, code="missing_required_field"
            ) from None
        reason = text.split(" - at ")[0]
        raise BadRequestError(
            f"invalid value for {param!r}: {reason}", param=param, code="invalid_value"
        ) from None


def validate_chat(body: dict[str, Any]) -> None:
    check_shape(body, _ChatShape)
    if not body["model"]:
        raise BadRequestError("'model' must not be empty", param="model", code="invalid_value")
    if not body["messages"]:
        raise BadRequestError(
            "'messages' must contain at least one message", param="messages", code="invalid_value"
        )
    for name in ("max_tokens", "max_completion_tokens", "n"):
        value = body.get(name)
        if value is not None and value < 1:
            raise BadRequestError(f"'{name}' must be at least 1", param=name, code="invalid_value")


def validate_embeddings(body: dict[str, Any]) -> None:
    check_shape(body, _EmbeddingsShape)
    if not body["model"]:
        raise BadRequestError("'model' must not be empty", param="model", code="invalid_value")
    if body["input"] in ("", []):
        raise BadRequestError("'input' must not be empty", param="input", code="invalid_value")
