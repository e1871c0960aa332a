"""User-written hooks, loaded by path from config in the tests."""

from __future__ import annotations

from typing import Any

from literllm.hooks import Completion, Hook, RequestContext, RequestRejected


class Tagger(Hook):
    """Adds a system message; refuses prompts containing `forbidden`."""

    def __init__(self, tag: str = "tagged", forbidden: str = "", status: int = 403) -> None:
        self.tag = tag
        self.forbidden = forbidden
        self.status = status
        self.completions: list[Completion] = []

    async def before_request(self, ctx: RequestContext) -> None:
        text = str(ctx.body.get("messages", ctx.body.get("input")))  # chat, Responses
        if self.forbidden and self.forbidden in text:
            raise RequestRejected("this topic is not allowed here", status=self.status)
        if ctx.protocol == "openai":  # an Anthropic body has no system role in messages
            ctx.body["messages"] = [{"role": "system", "content": self.tag}, *ctx.body["messages"]]

    async def on_complete(self, ctx: RequestContext, completion: Completion) -> None:
        self.completions.append(completion)


class Shouter(Hook):
    """Upper-cases answers."""

    async def after_response(self, ctx: RequestContext, body: dict[str, Any]) -> None:
        for choice in body["choices"]:
            choice["message"]["content"] = choice["message"]["content"].upper()


def make_tagger(tag: str) -> Tagger:
    return Tagger(tag=tag)


def not_a_hook() -> object:
    return object()
