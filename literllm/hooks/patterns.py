"""The `patterns` guardrail: find personal data and secrets, then redact or block.

One compiled alternation finds every entity in a single pass; card numbers must pass
the Luhn check and IBANs the ISO 13616 mod-97 check, so order numbers and random digit
runs are left alone. Prompts (messages, `input`, `prompt`) and answers (message
content, completion text, streamed deltas) are checked; other fields are not.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ..config.guardrails import PatternSettings
from .base import EndStream, Hook, RequestContext, RequestRejected
from .lookahead import TextLookahead
from .lookahead import apply_matches as _apply
from .scanner import iban_valid, luhn_valid, scan

__all__ = ["PatternGuardrail", "iban_valid", "luhn_valid", "walk_answer", "walk_request"]

_LABELS = {
    "email": "an email address",
    "phone": "a phone number",
    "card": "a card number",
    "iban": "an IBAN",
    "api_key": "an API key",
}


class PatternGuardrail(Hook):
    """Built from `[[guardrails]] type = "patterns"`."""

    name = "patterns"
    # answers with text to check (embeddings, images, audio, rerank... have none)
    kinds = frozenset({"chat", "messages", "responses", "text_completion"})

    def __init__(self, settings: PatternSettings) -> None:
        self.settings = settings
        self._entities = frozenset(settings.entities)
        self._custom = [(name, re.compile(p)) for name, p in settings.custom.items()]
        self._input = "input" in settings.apply_to
        self._output = "output" in settings.apply_to
        self._block = settings.action == "block"

    def _matches(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, entity or custom name), sorted, without overlaps."""
        found = scan(text, self._entities) if self._entities else []
        if self._custom:
            for name, regex in self._custom:
                found.extend(
                    (m.start(), m.end(), name) for m in regex.finditer(text) if m.end() > m.start()
                )
            found.sort()
            kept: list[tuple[int, int, str]] = []
            for match in found:
                if not kept or match[0] >= kept[-1][1]:
                    kept.append(match)
            found = kept
        return found

    def find(self, text: str) -> list[tuple[int, int, str]]:
        """Every match as (start, end, replacement)."""
        return [(s, e, f"[{name.upper()}]") for s, e, name in self._matches(text)]

    def _first(self, text: str) -> str | None:
        found = self._matches(text)
        return found[0][2] if found else None

    def redacted(self, text: str) -> str:
        """`text` with every match replaced (whatever `action` says)."""
        matches = self.find(text)
        return _apply(text, matches) if matches else text

    def _rewrite(self, text: str, where: str) -> str:
        if self._block:
            name = self._first(text)
            if name is not None:
                label = _LABELS.get(name) or f'text matching "{name}"'
                raise RequestRejected(
                    f"the {where} contains {label}, which this gateway does not allow",
                    status=self.settings.status,
                    code="content_blocked",
                )
            return text
        return self.redacted(text)

    async def before_request(self, ctx: RequestContext) -> None:
        if self._input:
            walk_request(ctx.body, lambda text: self._rewrite(text, "prompt"))

    async def after_response(self, ctx: RequestContext, body: dict[str, Any]) -> None:
        if self._output:
            walk_answer(body, lambda text: self._rewrite(text, "answer"))

    async def on_stream_chunk(
        self, ctx: RequestContext, chunk: dict[str, Any]
    ) -> list[dict[str, Any]] | None:
        if not self._output:
            return None
        choices = chunk.get("choices")
        if not isinstance(choices, list) or not choices:
            return None
        buffers: dict[int, TextLookahead] = ctx.state.setdefault(self, {})
        keep = False
        for choice in choices:
            if not isinstance(choice, dict):
                continue
            index = choice.get("index", 0)
            delta = choice.get("delta")
            legacy = delta is None and "text" in choice  # a text_completion chunk
            if legacy:
                ctx.state[(self, "legacy")] = True
            text = (
                choice.get("text")
                if legacy
                else (delta.get("content") if isinstance(delta, dict) else None)
            )
            buffer = buffers.get(index)
            if buffer is None:
                buffer = buffers[index] = TextLookahead(self.find, self.settings.stream_lookahead)
            finished = choice.get("finish_reason") is not None
            if self._block:
                # Check what is held plus the new text; release only what cannot be
                # the start of a match.
                if isinstance(text, str) and text:
                    buffer.pending += text
                if self._first(buffer.pending) is not None:
                    raise EndStream("content_filter")
                released = buffer.pending if finished else _release(buffer)
                if finished:
                    buffer.pending = ""
            else:
                released = buffer.push(text) if isinstance(text, str) and text else ""
                if finished:
                    released += buffer.flush()
            if legacy:
                choice["text"] = released
            elif isinstance(delta, dict) and ("content" in delta or released):
                delta["content"] = released
            if released or finished or (not legacy and _has_more_than_content(choice)):
                keep = True
        if keep or chunk.get("usage"):
            return [chunk]
        return []

    async def on_stream_end(self, ctx: RequestContext) -> list[dict[str, Any]]:
        buffers: dict[int, TextLookahead] = ctx.state.get(self, {})
        out = []
        for index, buffer in buffers.items():
            text = buffer.flush() if not self._block else buffer.pending
            if text and ctx.state.get((self, "legacy")):
                out.append(
                    {"object": "text_completion", "choices": [{"index": index, "text": text}]}
                )
            elif text:
                out.append(
                    {
                        "object": "chat.completion.chunk",
                        "choices": [{"index": index, "delta": {"content": text}}],
                    }
                )
        return out


def _release(buffer: TextLookahead) -> str:
    cut = len(buffer.pending) - buffer.size
    if cut <= 0:
        return ""
    released, buffer.pending = buffer.pending[:cut], buffer.pending[cut:]
    return released


def _has_more_than_content(choice: dict[str, Any]) -> bool:
    delta = choice.get("delta")
    if not isinstance(delta, dict):
        return True
    return any(k != "content" and v is not None for k, v in delta.items())


def walk_request(body: dict[str, Any], rewrite: Callable[[str], str]) -> None:
    messages = body.get("messages")
    if isinstance(messages, list):
        for message in messages:
            if isinstance(message, dict):
                _rewrite_content(message, rewrite)
    for field in ("input", "prompt", "system", "instructions"):
        value = body.get(field)
        if isinstance(value, str):
            body[field] = rewrite(value)
        elif isinstance(value, list):
            body[field] = [rewrite(v) if isinstance(v, str) else v for v in value]
            for item in body[field]:
                if isinstance(item, dict):  # Anthropic system blocks, Responses input items
                    if isinstance(item.get("text"), str):
                        item["text"] = rewrite(item["text"])
                    if isinstance(item.get("output"), str):  # a function_call_output
                        item["output"] = rewrite(item["output"])
                    _rewrite_content(item, rewrite)


def walk_answer(body: dict[str, Any], rewrite: Callable[[str], str]) -> None:
    if body.get("type") == "message":  # Anthropic Messages
        _rewrite_content(body, rewrite)
    output = body.get("output")
    if isinstance(output, list):  # OpenAI Responses
        for item in output:
            if isinstance(item, dict):
                _rewrite_content(item, rewrite)
    choices = body.get("choices")
    if not isinstance(choices, list):
        return
    for choice in choices:
        if not isinstance(choice, dict):
            continue
        message = choice.get("message")
        if isinstance(message, dict):
            _rewrite_content(message, rewrite)
        if isinstance(choice.get("text"), str):
            choice["text"] = rewrite(choice["text"])


def _rewrite_content(message: dict[str, Any], rewrite: Callable[[str], str]) -> None:
    content = message.get("content")
    if isinstance(content, str):
        message["content"] = rewrite(content)
    elif isinstance(content, list):
        for part in content:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                part["text"] = rewrite(part["text"])
