"""What became of one request: the facts logs, metrics and the admin API report."""

from __future__ import annotations

from .types import Usage

__all__ = ["Outcome"]


class Outcome:
    """Filled in by the proxy as a request goes; read by the server's access log.

    `status` is the HTTP status the request ended with; `deployment` and `route` stay
    None when no upstream was reached (refused, cache hit). `key` is the key's label,
    `key_id` its id (`literllm.identity.key_id`), `error_type` the OpenAI error type of
    a failure (`rate_limit_error`...), `stream` whether the answer was streamed.
    """

    __slots__ = (
        "cache",
        "cost",
        "deployment",
        "error_type",
        "key",
        "key_id",
        "model",
        "provider_model",
        "route",
        "started",
        "status",
        "stream",
        "upstream_seconds",
        "usage",
    )

    def __init__(self, started: float = 0.0) -> None:
        self.started = started
        self.model: str | None = None
        self.key: str | None = None
        self.key_id: str | None = None
        self.deployment: str | None = None
        self.provider_model: str | None = None
        self.route: str | None = None
        self.status = 200
        self.usage: Usage | None = None
        self.cost: float | None = None
        self.cache: str | None = None
        self.upstream_seconds: float | None = None
        self.error_type: str | None = None
        self.stream = False
