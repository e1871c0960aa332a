"""Gateway errors in Anthropic's shape: `{"type": "error", "error": {"type", "message"}}`.

Anthropic's documented statuses and types (https://docs.anthropic.com/en/api/errors):
400 invalid_request_error, 401 authentication_error, 402 billing_error,
403 permission_error, 404 not_found_error, 413 request_too_large, 429 rate_limit_error,
500 api_error, 504 timeout_error, 529 overloaded_error. Other gateway statuses are
mapped onto that set so Anthropic SDKs classify (and retry) them as they would
Anthropic's own.
"""

from __future__ import annotations

import msgspec

from ..errors import LiterLLMError

__all__ = ["ERROR_TYPES", "anthropic_error", "anthropic_error_event"]

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}
_BY_TYPE = {kind: status for status, kind in ERROR_TYPES.items()}
_STATUS = {405: 400, 415: 400, 422: 400, 502: 500, 503: 529}

_encode = msgspec.json.Encoder().encode


def _status_and_type(error: LiterLLMError) -> tuple[int, str]:
    if error.code in _BY_TYPE:  # an Anthropic upstream's own error type, kept
        kind = error.code
        return _BY_TYPE[kind], kind
    status = _STATUS.get(error.status, error.status)
    if status not in ERROR_TYPES:
        status = 400 if 400 <= status < 500 else 500
    return status, ERROR_TYPES[status]


def anthropic_error(error: LiterLLMError) -> tuple[int, bytes]:
    """(status, body) of `error` as Anthropic would answer it."""
    status, kind = _status_and_type(error)
    return status, _encode({"type": "error", "error": {"type": kind, "message": error.message}})


def anthropic_error_event(error: LiterLLMError) -> bytes:
    """`error` as an SSE `error` event, for failures after a stream has started."""
    _, body = anthropic_error(error)
    return b"event: error\ndata: " + body + b"\n\n"
