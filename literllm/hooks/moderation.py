"""The `moderation` guardrail: a moderation model reads the prompt (and, if asked, the
answer) and what it flags is refused. A streamed answer is held until it ends, then
checked whole (a flagged one ends with `finish_reason: "content_filter"`, unsent).

The check runs through the gateway's own `/v1/moderations` path (`moderate`, given by
the `Proxy`): same routing, limits and spend accounting, charged to the caller's key.
The moderation request itself is never moderated.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from ..config.guardrails import ModerationSettings
from .base import EndStream, Hook, RequestContext, RequestRejected
from .patterns import walk_answer, walk_request

__all__ = ["Moderate", "ModerationGuardrail"]

Moderate = Callable[[RequestContext, dict[str, Any]], Awaitable[dict[str, Any]]]
"""(the request's context, a /v1/moderations body) -> the moderation answer's JSON."""


class ModerationGuardrail(Hook):
    name = "moderation"
    kinds = frozenset({"chat", "messages", "responses", "text_completion"})

    def __init__(self, settings: ModerationSettings, moderate: Moderate) -> None:
        self.settings = settings
        self.moderate = moderate

    async def before_request(self, ctx: RequestContext) -> None:
        if ctx.kind == "moderation":
            return
        texts: list[str] = []
        walk_request(ctx.body, _collect(texts))
        await self._check(ctx, texts, "prompt")

    async def after_response(self, ctx: RequestContext, body: dict[str, Any]) -> None:
        if not self.settings.check_output:
            return
        texts: list[str] = []
        walk_answer(body, _collect(texts))
        await self._check(ctx, texts, "answer")

    async def on_stream_chunk(
        self, ctx: RequestContext, chunk: dict[str, Any]
    ) -> list[dict[str, Any]] | None:
        """With `check_output`, a stream's chunks are held until it ends and checked
        whole: a flagged answer is never sent (registered only then)."""
        ctx.state.setdefault(self, []).append(chunk)
        return []

    async def on_stream_end(self, ctx: RequestContext) -> list[dict[str, Any]]:
        held: list[dict[str, Any]] = ctx.state.pop(self, [])
        text = "".join(_streamed_text(chunk) for chunk in held)
        try:
            await self._check(ctx, [text], "answer")
        except RequestRejected:
            raise EndStream("content_filter") from None
        return held

    async def _check(self, ctx: RequestContext, texts: list[str], where: str) -> None:
        texts = [t for t in texts if t.strip()]
        if not texts:
            return
        answer = await self.moderate(ctx, {"model": self.settings.model, "input": texts})
        flagged = _flagged(answer, self.settings.categories)
        if flagged:
            raise RequestRejected(
                f"the {where} was flagged by moderation ({', '.join(flagged)})",
                status=self.settings.status,
                code="content_flagged",
            )


def _streamed_text(chunk: dict[str, Any]) -> str:
    parts: list[str] = []
    for choice in chunk.get("choices") or ():
        if not isinstance(choice, dict):
            continue
        delta = choice.get("delta")
        text = delta.get("content") if isinstance(delta, dict) else choice.get("text")
        if isinstance(text, str):
            parts.append(text)
    return "".join(parts)


def _collect(texts: list[str]) -> Callable[[str], str]:
    def keep(text: str) -> str:
        texts.append(text)
        return text

    return keep


def _flagged(answer: dict[str, Any], wanted: list[str]) -> list[str]:
    """The categories that were flagged (["flagged"] when a result is flagged without
    naming any); only `wanted` ones when given."""
    found: list[str] = []
    results = answer.get("results")
    for result in results if isinstance(results, list) else []:
        if not isinstance(result, dict):
            continue
        categories = result.get("categories")
        named = (
            [name for name, on in categories.items() if on is True]
            if isinstance(categories, dict)
            else []
        )
        if wanted:
            found.extend(name for name in named if name in wanted)
        elif result.get("flagged") is True:
            found.extend(named or ["flagged"])
    return list(dict.fromkeys(found))
