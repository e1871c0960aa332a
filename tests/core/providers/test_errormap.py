"""The upstream status table: what each provider answer becomes for the client."""

from __future__ import annotations

import pytest

from literllm.providers.errormap import upstream_error

RETRY = {"retry-after": "7"}


@pytest.mark.parametrize(
    ("upstream", "status", "error_type", "code", "retryable", "retry_after"),
    [
        (401, 502, "upstream_auth_error", "upstream_authentication_failed", False, None),
        (403, 502, "upstream_auth_error", "upstream_authentication_failed", False, None),
        (429, 429, "rate_limit_error", "rate_limit_exceeded", True, 7.0),
        (529, 503, "service_unavailable", "upstream_overloaded", True, 7.0),
        (503, 503, "service_unavailable", "upstream_overloaded", True, 7.0),
        (408, 504, "timeout", "upstream_timeout", True, 7.0),
        (504, 504, "timeout", "upstream_timeout", True, 7.0),
        (500, 502, "upstream_error", "upstream_error", True, 7.0),
        (501, 502, "upstream_error", "upstream_error", False, 7.0),
        (404, 404, "invalid_request_error", "model_not_found", False, None),
        (413, 413, "invalid_request_error", None, False, None),
        (400, 400, "invalid_request_error", None, False, None),
        (422, 400, "invalid_request_error", None, False, None),
    ],
)
def test_status_table(
    upstream: int,
    status: int,
    error_type: str,
    code: str | None,
    retryable: bool,
    retry_after: float | None,
) -> None:
    error = upstream_error("acme", upstream, "details", RETRY, param="messages")
    assert (error.status, error.error_type, error.code) == (status, error_type, code)
    assert error.retryable is retryable
    assert error.retry_after == retry_after
    assert "acme" in error.message


def test_a_503_the_provider_marks_final_is_a_plain_failure() -> None:
    error = upstream_error("acme", 503, None, retryable=False)
    assert (error.status, error.code, error.retryable) == (502, "upstream_error", False)


def test_client_errors_keep_the_param_and_caller_code() -> None:
    error = upstream_error("acme", 400, "bad", param="temperature", code="invalid_value")
    assert (error.param, error.code) == ("temperature", "invalid_value")
    assert upstream_error("acme", 500, "x", param="temperature").param is None
