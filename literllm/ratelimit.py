"""Requests- and tokens-per-minute limits over sliding windows in the state store.

Each limit is a sliding log of 60 seconds: an admitted request is an entry stamped
with its time and amount (1 for the requests window, the token estimate for the
tokens window), counted until exactly 60 s later. There is no fixed boundary, hence no
double burst, and the wait a refusal reports is exact: the time until the oldest
entries that must leave have left. Per-key windows apply to keys with `rpm` / `tpm`;
the global `[rate_limit]` windows count every request, the master key's included.

A request is admitted into all its windows or none (one atomic store operation).
Tokens are reserved from an estimate (`estimate_request_tokens`) and reconciled with
real usage when the response is settled; see docs/governance.md.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from .config.schema import Config, KeyConfig
from .errors import RateLimitError
from .state import HitOutcome, StateStore, WindowHit, WindowState

__all__ = [
    "DEFAULT_OUTPUT_TOKENS",
    "WINDOW_SECONDS",
    "RateLimiter",
    "estimate_prompt_tokens",
    "estimate_request_tokens",
    "format_reset",
]

WINDOW_SECONDS = 60.0
DEFAULT_OUTPUT_TOKENS = 1024
"""Output tokens reserved when the request sets neither `max_completion_tokens` nor
`max_tokens` (real usage replaces the reservation when the response ends)."""

_PROMPT_FIELDS = ("messages", "input", "prompt")


def estimate_prompt_tokens(body: Mapping[str, Any]) -> int:
    """About one token per 4 bytes of the JSON of `messages` (or `input` / `prompt`)."""
    for name in _PROMPT_FIELDS:
        value = body.get(name)
        if value is not None:
            return max(math.ceil(len(msgspec.json.encode(value)) / 4), 1)
    return 1


def estimate_request_tokens(
    body: Mapping[str, Any],
    *,
    default_output_tokens: int = DEFAULT_OUTPUT_TOKENS,
    prompt_tokens: int | None = None,
) -> int:
    """Tokens to reserve: the prompt estimate plus the requested output cap
    (`max_completion_tokens`, else `max_tokens`, else `default_output_tokens`).
    Embeddings (an `input` without output) reserve the prompt estimate only."""
    requested = body.get("max_completion_tokens", body.get("max_tokens"))
    if isinstance(requested, int) and not isinstance(requested, bool) and requested >= 0:
        output = requested
    elif "messages" in body or "prompt" in body:
        output = default_output_tokens
    else:
        output = 0
    if prompt_tokens is None:
        prompt_tokens = estimate_prompt_tokens(body)
    return prompt_tokens + output


def format_reset(seconds: float) -> str:
    """A duration as OpenAI writes it in `x-ratelimit-reset-*`: `20ms`, `1.5s`, `1m0s`."""
    milliseconds = max(math.ceil(seconds * 1000), 0)
    if milliseconds < 1000:
        return f"{milliseconds}ms"
    minutes, rest = divmod(milliseconds, 60_000)
    text = f"{rest / 1000:.3f}".rstrip("0").rstrip(".") + "s"
    return f"{minutes}m{text}" if minutes else text


class RateLimiter:
    """The windows a request counts in, and the OpenAI headers that describe them."""

    def __init__(self, store: StateStore, config: Config) -> None:
        self._store = store
        self._global = config.rate_limit

    def hits(self, key_id: str | None, key: KeyConfig | None, tokens: int) -> list[WindowHit]:
        hits: list[WindowHit] = []
        if key is not None and key_id is not None:
            if key.rpm is not None:
                hits.append(WindowHit(f"key:{key_id}:requests", key.rpm, 1))
            if key.tpm is not None:
                hits.append(WindowHit(f"key:{key_id}:tokens", key.tpm, tokens))
        if self._global is not None:
            if self._global.rpm is not None:
                hits.append(WindowHit("global:requests", self._global.rpm, 1))
            if self._global.tpm is not None:
                hits.append(WindowHit("global:tokens", self._global.tpm, tokens))
        return hits

    async def admit(
        self, entry_id: str, hits: Sequence[WindowHit], *, label: str, now: float
    ) -> dict[str, str]:
        """Count the request in every window or raise `RateLimitError` (429)."""
        if not hits:
            return {}
        outcome = await self._store.hit(entry_id, hits, now=now, window_seconds=WINDOW_SECONDS)
        headers = rate_limit_headers(outcome.windows)
        if not outcome.admitted:
            raise _refusal(outcome, hits, headers, label)
        return headers

    @staticmethod
    def token_updates(hits: Sequence[WindowHit], tokens: int) -> list[tuple[str, int]]:
        """`(window, real tokens)` for each tokens window whose estimate must change
        (0 for cache hits and failures); passed to `StateStore.settle`."""
        return [
            (hit.window, max(tokens, 0))
            for hit in hits
            if hit.window.endswith(":tokens") and tokens != hit.amount
        ]


def rate_limit_headers(windows: Sequence[WindowState]) -> dict[str, str]:
    """OpenAI's `x-ratelimit-*` headers, for requests and for tokens, each describing
    the binding window (least remaining) among the key's and the global ones."""
    binding: dict[str, WindowState] = {}
    for state in windows:
        kind = "requests" if state.window.endswith(":requests") else "tokens"
        best = binding.get(kind)
        if best is None or (state.limit - state.used, -state.reset_after) < (
            best.limit - best.used,
            -best.reset_after,
        ):
            binding[kind] = state
    headers: dict[str, str] = {}
    for kind in ("requests", "tokens"):
        chosen = binding.get(kind)
        if chosen is not None:
            headers[f"x-ratelimit-limit-{kind}"] = str(chosen.limit)
            headers[f"x-ratelimit-remaining-{kind}"] = str(max(chosen.limit - chosen.used, 0))
            headers[f"x-ratelimit-reset-{kind}"] = format_reset(chosen.reset_after)
    return headers


def _refusal(
    outcome: HitOutcome, hits: Sequence[WindowHit], headers: dict[str, str], label: str
) -> RateLimitError:
    retry_after = max(math.ceil(outcome.retry_after), 1)
    limits = {hit.window: hit.limit for hit in hits}
    reasons = []
    for window in outcome.refused:
        scope, _, kind = window.rpartition(":")
        who = "the gateway's global [rate_limit]" if scope == "global" else label
        reasons.append(f"{who} allows {limits[window]} {kind} per minute")
    message = (
        f"Rate limit reached: {'; '.join(reasons)}. "
        f"Retry after {retry_after} s, or lower max_tokens if the token limit is the cause."
    )
    return RateLimitError(message, headers={"retry-after": str(retry_after), **headers})
