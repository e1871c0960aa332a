"""What became of one request: the facts logs, metrics and the admin API report."""

from __future__ import annotations

from .types import Usage

__all__ = ["Outcome"]


class Outcome:
    """Filled in by the proxy as a request goes; read by the server's access log.

    `status` is the HTTP status the request ended with; `deployment` and `route` stay
    None when no upstream was reached (refused, cache hit).
    """

    __slots__ = (
        "cache",
        "cost",
        "deployment",
        "key",
        "model",
        "provider_model",
        "route",
        "started",
        "status",
        "upstream_seconds",
        "usage",
    )

    def __init__(self, started: float = 0.0) -> None:
        self.started = started
        self.model: str | None = None
        self.key: str | None = None
        self.deployment: str | None = None
        self.provider_model: str | None = None
        self.route: str | None = None
        self.status = 200
        self.usage: Usage | None = None
        self.cost: float | None = None
        self.cache: str | None = None
        self.upstream_seconds: float | None = None
