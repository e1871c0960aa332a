"""The batch's JSONL: input lines checked up front, output and error lines as OpenAI
writes them."""

from __future__ import annotations

import secrets
from typing import Any

import msgspec

__all__ = ["InputLine", "error_line", "output_line", "parse_input"]

MAX_LINES = 50_000


class InputLine(msgspec.Struct, frozen=True):
    custom_id: str
    body: dict[str, Any]


class _Line(msgspec.Struct):
    custom_id: str
    method: str
    url: str
    body: dict[str, Any]


_decode = msgspec.json.Decoder(_Line)
_encode = msgspec.json.Encoder().encode


def parse_input(data: bytes, endpoint: str) -> tuple[list[InputLine], list[dict[str, Any]]]:
    """The lines, or the errors that fail the batch (OpenAI's `errors.data` items)."""
    lines: list[InputLine] = []
    errors: list[dict[str, Any]] = []
    seen: set[str] = set()
    for number, raw in enumerate(data.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            line = _decode.decode(raw)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            errors.append(
                _error("invalid_json_line", f"line {number} is not a request: {exc}", number)
            )
            continue
        if line.method.upper() != "POST":
            errors.append(_error("invalid_method", "the method must be POST", number))
        elif line.url != endpoint:
            errors.append(
                _error("mismatched_url", f"the url must be the batch's endpoint {endpoint}", number)
            )
        elif line.custom_id in seen:
            errors.append(_error("duplicate_custom_id", "custom_id must be unique", number))
        else:
            seen.add(line.custom_id)
            lines.append(InputLine(line.custom_id, line.body))
        if len(errors) >= 100:
            break
    if not lines and not errors:
        errors.append(_error("empty_file", "the input file has no request lines", None))
    if len(lines) > MAX_LINES:
        errors.append(_error("too_many_lines", f"a batch has at most {MAX_LINES} lines", None))
    return lines, errors


def _error(code: str, message: str, line: int | None) -> dict[str, Any]:
    return {"code": code, "message": message, "param": None, "line": line}


def output_line(custom_id: str, status: int, body: bytes) -> str:
    """A line of the output file (a 2xx answer) or of the error file (an error answer)."""
    response = {
        "status_code": status,
        "request_id": "req_" + secrets.token_hex(12),
        "body": msgspec.Raw(body),
    }
    return _encode(
        {
            "id": "batch_req_" + secrets.token_hex(12),
            "custom_id": custom_id,
            "response": response,
            "error": None,
        }
    ).decode()


def error_line(custom_id: str, code: str, message: str) -> str:
    """A line of the error file for a request that got no answer (expired, cancelled,
    interrupted by a restart)."""
    return _encode(
        {
            "id": "batch_req_" + secrets.token_hex(12),
            "custom_id": custom_id,
            "response": None,
            "error": {"code": code, "message": message},
        }
    ).decode()
