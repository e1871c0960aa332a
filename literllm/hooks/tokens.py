"""The `max_input_tokens` guardrail: refuse prompts estimated above a limit.

The estimate is the gateway's own (the one rate limits use), so it needs no tokenizer
and costs a walk over the messages.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..config.guardrails import TokenLimitSettings
from .base import Hook, RequestContext, RequestRejected

__all__ = ["InputTokenLimit"]


class InputTokenLimit(Hook):
    name = "max_input_tokens"

    def __init__(
        self, settings: TokenLimitSettings, estimate: Callable[[dict[str, Any]], int]
    ) -> None:
        self.limit = settings.max_input_tokens
        self.status = settings.status
        self.estimate = estimate

    async def before_request(self, ctx: RequestContext) -> None:
        tokens = self.estimate(ctx.body)
        if tokens > self.limit:
            raise RequestRejected(
                f"the prompt is about {tokens} tokens; this gateway allows at most "
                f"{self.limit} for this key and model",
                status=self.status,
                code="max_input_tokens_exceeded",
                param="messages",
            )
