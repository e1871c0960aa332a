"""One error hierarchy: every failure carries its HTTP status and OpenAI error type.

The server turns any `LiterLLMError` into `{"error": {...}}` with one lookup; library
callers catch the same classes. Messages say what was wrong and what to do, and never
contain a key.
"""

from __future__ import annotations

import math
from typing import Any

import msgspec

__all__ = [
    "AuthenticationError",
    "BadRequestError",
    "BudgetExceededError",
    "ConfigError",
    "ConfigErrors",
    "GatewayTimeoutError",
    "LiterLLMError",
    "MethodNotAllowedError",
    "MissingCredentialError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestTimeoutError",
    "ServiceUnavailableError",
    "UnsupportedMediaTypeError",
    "UpstreamError",
]


class LiterLLMError(Exception):
    """Base of every error the gateway raises on purpose."""

    status: int = 500
    error_type: str = "server_error"
    default_code: str | None = None

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code if code is not None else self.default_code
        self.headers: dict[str, str] = headers or {}

    def to_dict(self) -> dict[str, Any]:
        return {
            "error": {
                "message": self.message,
                "type": self.error_type,
                "param": self.param,
                "code": self.code,
            }
        }

    def to_json(self) -> bytes:
        return msgspec.json.encode(self.to_dict())


class BadRequestError(LiterLLMError):
    status = 400
    error_type = "invalid_request_error"


class AuthenticationError(LiterLLMError):
    status = 401
    error_type = "authentication_error"
    default_code = "invalid_api_key"


class BudgetExceededError(LiterLLMError):
    status = 402
    error_type = "budget_exceeded"
    default_code = "budget_exceeded"


class PermissionDeniedError(LiterLLMError):
    status = 403
    error_type = "permission_error"
    default_code = "model_not_allowed"


class NotFoundError(LiterLLMError):
    status = 404
    error_type = "invalid_request_error"
    default_code = "not_found"


class MethodNotAllowedError(LiterLLMError):
    status = 405
    error_type = "invalid_request_error"
    default_code = "method_not_allowed"


class RequestTimeoutError(LiterLLMError):
    """The client sent its request body too slowly."""

    status = 408
    error_type = "invalid_request_error"
    default_code = "request_timeout"


class PayloadTooLargeError(LiterLLMError):
    status = 413
    error_type = "invalid_request_error"
    default_code = "request_too_large"


class UnsupportedMediaTypeError(LiterLLMError):
    status = 415
    error_type = "invalid_request_error"
    default_code = "unsupported_media_type"


class RateLimitError(LiterLLMError):
    status = 429
    error_type = "rate_limit_error"
    default_code = "rate_limit_exceeded"


class ServiceUnavailableError(LiterLLMError):
    status = 503
    error_type = "service_unavailable"
    default_code = "service_unavailable"


class MissingCredentialError(ServiceUnavailableError):
    """A model (configured or passthrough) whose provider has no credential: the
    message names the provider and the setting or environment variable to set."""

    default_code = "missing_credential"


class GatewayTimeoutError(LiterLLMError):
    status = 504
    error_type = "timeout"
    default_code = "timeout"


class UpstreamError(LiterLLMError):
    """An error answered by (or on the way to) an upstream provider.

    `retryable` marks transient failures (429, 5xx, overload, timeouts, connection
    errors) that retries and fallbacks may try elsewhere; `retry_after` is the
    provider's own hint in seconds, when it gave one. On a 429 or 503 that hint reaches
    the client as `Retry-After` (whole seconds, rounded up) once retries have run out.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int = 502,
        error_type: str = "upstream_error",
        retryable: bool = False,
        retry_after: float | None = None,
        param: str | None = None,
        code: str | None = None,
    ) -> None:
        headers = None
        if retry_after is not None and status in (429, 503):
            headers = {"retry-after": str(math.ceil(retry_after))}
        super().__init__(message, param=param, code=code, headers=headers)
        self.status = status
        self.error_type = error_type
        self.retryable = retryable
        self.retry_after = retry_after


class ConfigError(LiterLLMError):
    """A configuration mistake: names the file, line, column and what to change."""

    error_type = "config_error"

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        self.path = path
        self.line = line
        self.column = column
        self.warnings: list[ConfigError] = []
        """Warnings about the same file, found while looking for errors."""
        location = ""
        if path is not None:
            location = path
            if line is not None:
                location += f":{line}:{column or 1}"
            location += ": "
        super().__init__(location + message)
        self.detail = message


class ConfigErrors(ConfigError):
    """Every mistake found in one config file, in file order. The attributes of the first
    (`path`, `line`, `column`, `detail`) are this error's own; `errors` holds each, and
    the message is one `FILE:LINE:COL: ...` line per error."""

    def __init__(self, errors: list[ConfigError]) -> None:
        first = errors[0]
        super().__init__(first.detail, path=first.path, line=first.line, column=first.column)
        self.errors = list(errors)
        self.message = "\n".join(str(error) for error in errors)
        self.args = (self.message,)
