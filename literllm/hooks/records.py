"""One request as one JSON record: metadata always, bodies only when asked (redacted)."""

from __future__ import annotations

import datetime
from typing import Any

from ..config.guardrails import PatternSettings
from .base import Completion, RequestContext
from .patterns import PatternGuardrail, walk_answer, walk_request

__all__ = ["RecordBuilder"]


class RecordBuilder:
    def __init__(self, *, bodies: bool) -> None:
        self.bodies = bodies
        self._redactor = PatternGuardrail(PatternSettings()) if bodies else None

    def build(self, ctx: RequestContext, done: Completion) -> dict[str, Any]:
        usage = done.usage
        record: dict[str, Any] = {
            "time": datetime.datetime.fromtimestamp(done.started_at, datetime.UTC).isoformat(),
            "kind": done.kind,
            "model": done.model,
            "key": done.key,
            "key_id": done.key_id,
            "status": done.status,
            "latency_ms": round(done.latency * 1000, 3),
            "stream": done.stream,
            "deployment": done.deployment,
            "provider_model": done.provider_model,
            "cache": done.cache,
            "usage": (
                {
                    "prompt_tokens": usage.prompt_tokens,
                    "completion_tokens": usage.completion_tokens,
                    "total_tokens": usage.total_tokens,
                }
                if usage is not None
                else None
            ),
            "cost": done.cost,
            "error": done.error,
        }
        redactor = self._redactor
        if redactor is not None:
            request = _copy(ctx.body)
            walk_request(request, redactor.redacted)
            record["request"] = request
            if done.response is not None:
                response = _copy(done.response)
                walk_answer(response, redactor.redacted)
                record["response"] = response
        return record


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value
