"""What a transport failure becomes for the gateway: one mapping for every HTTP client.

Timeouts are a retryable 504 (`upstream_timeout`), connection failures and broken
HTTP/1.1 a retryable 502 (`upstream_connection_error`), a full pool a retryable 503
(`upstream_pool_timeout`), an answer over a size cap a final 502
(`upstream_response_too_large`), and a request we could not write (a bad header) a
final 502.
"""

from __future__ import annotations

from ..errors import UpstreamError
from .base import UpstreamRequest
from .pool import PoolTimeout
from .wire import ProtocolError, ResponseTooLarge

__all__ = ["connection_error", "transport_error", "upstream_timeout"]


def _host(request: UpstreamRequest) -> str:
    rest = request.url.split("://", 1)[-1]
    return rest.split("/", 1)[0].rsplit("@", 1)[-1]


def upstream_timeout(request: UpstreamRequest, timeout: float) -> UpstreamError:
    return UpstreamError(
        f"upstream {_host(request)} did not answer within {timeout:g} s",
        status=504,
        error_type="timeout",
        retryable=True,
        code="upstream_timeout",
    )


def connection_error(request: UpstreamRequest, exc: BaseException) -> UpstreamError:
    return UpstreamError(
        f"could not reach upstream {_host(request)} ({type(exc).__name__})",
        status=502,
        error_type="upstream_error",
        retryable=True,
        code="upstream_connection_error",
    )


def transport_error(request: UpstreamRequest, exc: BaseException, timeout: float) -> UpstreamError:
    """The gateway's error for an exception an HTTP client raised while sending
    `request` (or reading its answer) under `timeout`."""
    if isinstance(exc, TimeoutError):
        return upstream_timeout(request, timeout)
    if isinstance(exc, ResponseTooLarge):
        return UpstreamError(
            f"upstream response refused: {exc}; raise [upstream] max_response_bytes or "
            "max_event_bytes if such answers are expected",
            status=502,
            retryable=False,
            code="upstream_response_too_large",
        )
    if isinstance(exc, PoolTimeout):
        which = "max_connections_per_host" if exc.per_host else "max_connections"
        return UpstreamError(
            f"no connection to upstream {exc.host} became free within {exc.waited:g} s "
            f"(all busy; [upstream] {which})",
            status=503,
            retryable=True,
            code="upstream_pool_timeout",
        )
    if isinstance(exc, ProtocolError):
        return UpstreamError(
            f"upstream {_host(request)} broke HTTP/1.1: {exc}",
            status=502,
            retryable=True,
            code="upstream_connection_error",
        )
    if isinstance(exc, ValueError) and not isinstance(exc, OSError | UnicodeError):
        # our own request could not be written (a bad header): not worth a retry
        return UpstreamError(f"cannot send to upstream: {exc}", status=502, retryable=False)
    return connection_error(request, exc)
