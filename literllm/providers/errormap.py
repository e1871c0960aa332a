"""Map an upstream HTTP status to the OpenAI error type, status and retryability."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
from typing import NamedTuple

from ..errors import UpstreamError

__all__ = ["parse_retry_after", "upstream_error"]

_TRANSIENT = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 529})


class _Mapping(NamedTuple):
    status: int
    error_type: str
    what: str
    """How the message describes the answer, after `provider 'x' `."""
    code: str | None
    keeps_retry_after: bool
    keeps_param: bool


_RATE_LIMITED = _Mapping(
    429, "rate_limit_error", "is rate limiting", "rate_limit_exceeded", True, False
)
_OVERLOADED = _Mapping(
    503, "service_unavailable", "is overloaded", "upstream_overloaded", True, False
)
_TIMED_OUT = _Mapping(504, "timeout", "timed out", "upstream_timeout", True, False)
_FAILED = _Mapping(502, "upstream_error", "failed with {status}", "upstream_error", True, False)
_NOT_FOUND = _Mapping(
    404, "invalid_request_error", "answered not found", "model_not_found", False, True
)
_TOO_LARGE = _Mapping(
    413, "invalid_request_error", "says the request is too large", None, False, True
)
_REJECTED = _Mapping(400, "invalid_request_error", "rejected the request", None, False, True)

_BY_STATUS: dict[int, _Mapping] = {
    429: _RATE_LIMITED,
    529: _OVERLOADED,
    408: _TIMED_OUT,
    504: _TIMED_OUT,
    404: _NOT_FOUND,
    413: _TOO_LARGE,
}


def _mapping(status: int, retryable: bool) -> _Mapping:
    if status == 503 and retryable:
        return _OVERLOADED
    found = _BY_STATUS.get(status)
    if found is not None:
        return found
    return _FAILED if status >= 500 else _REJECTED


def upstream_error(
    provider: str,
    status: int,
    message: str | None,
    headers: Mapping[str, str] | None = None,
    *,
    retryable: bool | None = None,
    code: str | None = None,
    param: str | None = None,
) -> UpstreamError:
    """Build the gateway's error for a provider's error answer.

    A provider 401/403 means the gateway's own credential for that provider is wrong,
    which is the operator's problem, not the client's: it becomes a 502 that says so.
    """
    if status in (401, 403):
        return UpstreamError(
            f"the gateway's credential for provider {provider!r} was rejected "
            f"(upstream {status}); the operator must fix the api_key for it",
            status=502,
            error_type="upstream_auth_error",
            retryable=False,
            code="upstream_authentication_failed",
        )
    if retryable is None:
        retryable = status in _TRANSIENT
    found = _mapping(status, retryable)
    detail = f": {message}" if message else ""
    return UpstreamError(
        f"provider {provider!r} {found.what.format(status=status)}{detail}",
        status=found.status,
        error_type=found.error_type,
        retryable=False if found is _TOO_LARGE else retryable,
        retry_after=parse_retry_after(headers) if headers and found.keeps_retry_after else None,
        code=code or found.code,
        param=param if found.keeps_param else None,
    )


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """`Retry-After` (seconds or an HTTP date) or `retry-after-ms`, in seconds."""
    value = headers.get("retry-after-ms") or headers.get("Retry-After-Ms")
    if value:
        try:
            return max(0.0, float(value) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after") or headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
