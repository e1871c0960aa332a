"""Map an upstream HTTP status to the OpenAI error type, status and retryability."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping

from ..errors import UpstreamError

__all__ = ["parse_retry_after", "upstream_error"]

_TRANSIENT = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 529})


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
    detail = f": {message}" if message else ""
    retry_after = parse_retry_after(headers) if headers else None
    if retryable is None:
        retryable = status in _TRANSIENT
    if status in (401, 403):
        return UpstreamError(
            f"the gateway's credential for provider {provider!r} was rejected "
            f"(upstream {status}); the operator must fix the api_key for it",
            status=502,
            error_type="upstream_auth_error",
            retryable=False,
            code="upstream_authentication_failed",
        )
    if status == 429:
        return UpstreamError(
            f"provider {provider!r} is rate limiting{detail}",
            status=429,
            error_type="rate_limit_error",
            retryable=retryable,
            retry_after=retry_after,
            code=code or "rate_limit_exceeded",
        )
    if status == 529 or (status == 503 and retryable):
        return UpstreamError(
            f"provider {provider!r} is overloaded{detail}",
            status=503,
            error_type="service_unavailable",
            retryable=retryable,
            retry_after=retry_after,
            code=code or "upstream_overloaded",
        )
    if status in (408, 504):
        return UpstreamError(
            f"provider {provider!r} timed out{detail}",
            status=504,
            error_type="timeout",
            retryable=retryable,
            retry_after=retry_after,
            code=code or "upstream_timeout",
        )
    if status >= 500:
        return UpstreamError(
            f"provider {provider!r} failed with {status}{detail}",
            status=502,
            error_type="upstream_error",
            retryable=retryable,
            retry_after=retry_after,
            code=code or "upstream_error",
        )
    if status == 404:
        return UpstreamError(
            f"provider {provider!r} answered not found{detail}",
            status=404,
            error_type="invalid_request_error",
            retryable=retryable,
            code=code or "model_not_found",
            param=param,
        )
    if status == 413:
        return UpstreamError(
            f"provider {provider!r} says the request is too large{detail}",
            status=413,
            error_type="invalid_request_error",
            retryable=False,
            code=code,
            param=param,
        )
    return UpstreamError(
        f"provider {provider!r} rejected the request{detail}",
        status=400,
        error_type="invalid_request_error",
        retryable=retryable,
        code=code,
        param=param,
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
