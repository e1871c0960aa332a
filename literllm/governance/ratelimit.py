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

from ..config.schema import Config, KeyConfig
from ..errors import RateLimitError
from ..state import HitOutcome, StateStore, WindowHit, WindowState

__all__ = [
    "DEFAULT_OUTPUT_TOKENS",
    "WINDOW_SECONDS",
    "RateLimiter",
    "Windows",
    "estimate_prompt_tokens",
    "estimate_request_tokens",
    "format_reset",
    "rate_limit_headers",
    "token_updates",
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
    generates: bool = False,
) -> int:
    """Tokens to reserve: the prompt estimate plus the requested output cap
    (`max_completion_tokens`, else `max_tokens`, else `max_output_tokens`, else
    `default_output_tokens`). Embeddings (an `input` without output) reserve the prompt
    estimate only; `generates` says a body with `input` asks for output (Responses)."""
    requested = body.get(
        "max_completion_tokens", body.get("max_tokens", body.get("max_output_tokens"))
    )
    if isinstance(requested, int) and not isinstance(requested, bool) and requested >= 0:
        output = requested
    elif generates or "messages" in body or "prompt" in body:
        output = default_output_tokens
    else:
        output = 0
    if prompt_tokens is None:
        prompt_tokens = estimate_prompt_tokens(body)
    return prompt_tokens + output


def format_reset(seconds: float) -> str:
    """A duration as OpenAI writes it in `x-ratelimit-reset-*`: `20ms`, `1.5s`, `1m0s`."""
    milliseconds = math.ceil(seconds * 1000)
    if milliseconds < 1000:
        return f"{max(milliseconds, 0)}ms"
    minutes, rest = divmod(milliseconds, 60_000)
    # A whole number of milliseconds / 1000 prints as its shortest decimal: "1.5", "2.0".
    text = str(rest / 1000).removesuffix(".0") + "s"
    return f"{minutes}m{text}" if minutes else text


class Windows:
    """The windows one key's requests count in: the key's requests and tokens windows,
    then the global ones. Built once per key, as is each requests window's hit (its
    amount is always 1)."""

    __slots__ = ("_hits", "_token_slots", "token_windows")

    def __init__(self, limits: Sequence[tuple[str, int]]) -> None:
        self._hits = tuple(WindowHit(window, limit, 1) for window, limit in limits)
        self._token_slots = tuple(
            (index, window, limit)
            for index, (window, limit) in enumerate(limits)
            if window.endswith(":tokens")
        )
        self.token_windows = tuple(window for _, window, _ in self._token_slots)

    def hits(self, tokens: int) -> Sequence[WindowHit]:
        """The hits of one request reserving `tokens` in the tokens windows."""
        if not self._token_slots:
            return self._hits
        hits = list(self._hits)
        for index, window, limit in self._token_slots:
            hits[index] = WindowHit(window, limit, tokens)
        return hits


class RateLimiter:
    """The windows a request counts in, and the OpenAI headers that describe them."""

    def __init__(self, store: StateStore, config: Config) -> None:
        self._store = store
        self._global = config.rate_limit
        self._teams = {team.name: team for team in config.teams}

    def windows(self, key_id: str, key: KeyConfig | None) -> Windows:
        limits: list[tuple[str, int]] = []
        if key is not None:
            if key.rpm is not None:
                limits.append((f"key:{key_id}:requests", key.rpm))
            if key.tpm is not None:
                limits.append((f"key:{key_id}:tokens", key.tpm))
            team = self._teams.get(key.team) if key.team is not None else None
            if team is not None:  # extension: the team's windows, shared by its keys
                if team.rpm is not None:
                    limits.append((f"team:{team.name}:requests", team.rpm))
                if team.tpm is not None:
                    limits.append((f"team:{team.name}:tokens", team.tpm))
        if self._global is not None:
            if self._global.rpm is not None:
                limits.append(("global:requests", self._global.rpm))
            if self._global.tpm is not None:
                limits.append(("global:tokens", self._global.tpm))
        return Windows(limits)

    async def admit(
        self,
        entry_id: str,
        windows: Windows,
        tokens: int,
        *,
        label: str,
        now: float,
        minimum_tokens: int | None = None,
    ) -> tuple[dict[str, str], int]:
        """Count the request in every window or raise `RateLimitError` (429). Returns the
        headers and the tokens counted: `tokens`, or, when only the tokens windows lack
        room for it, what remains in the fullest of them if that is at least
        `minimum_tokens` (the prompt estimate plus one output token)."""
        hits = windows.hits(tokens)
        if not hits:
            return {}, tokens
        outcome = await self._store.hit(entry_id, hits, now=now, window_seconds=WINDOW_SECONDS)
        if not outcome.admitted and minimum_tokens is not None:
            smaller = _what_remains(outcome, windows.token_windows)
            if smaller is not None and minimum_tokens <= smaller < tokens:
                tokens, hits = smaller, windows.hits(smaller)
                outcome = await self._store.hit(
                    entry_id, hits, now=now, window_seconds=WINDOW_SECONDS
                )
        headers = rate_limit_headers(outcome.windows)
        if not outcome.admitted:
            raise _refusal(outcome, hits, headers, label)
        return headers, tokens


def _what_remains(outcome: HitOutcome, token_windows: Sequence[str]) -> int | None:
    """Room left in the fullest tokens window, when only tokens windows refused."""
    if not token_windows or any(w not in token_windows for w in outcome.refused):
        return None
    room = [s.limit - s.used for s in outcome.windows if s.window in token_windows]
    return min(room) if room else None


def token_updates(
    token_windows: Sequence[str], estimate: int, tokens: int
) -> Sequence[tuple[str, int]]:
    """`(window, real tokens)` for each tokens window when the real count is not the
    `estimate` the request was admitted with (0 for cache hits and failures); passed to
    `StateStore.settle`."""
    if tokens == estimate:
        return ()
    amount = max(tokens, 0)
    return [(window, amount) for window in token_windows]


_REQUESTS_HEADERS = (
    "x-ratelimit-limit-requests",
    "x-ratelimit-remaining-requests",
    "x-ratelimit-reset-requests",
)
_TOKENS_HEADERS = (
    "x-ratelimit-limit-tokens",
    "x-ratelimit-remaining-tokens",
    "x-ratelimit-reset-tokens",
)


def rate_limit_headers(windows: Sequence[WindowState]) -> dict[str, str]:
    """OpenAI's `x-ratelimit-*` headers, for requests and for tokens, each describing
    the binding window (least remaining) among the key's and the global ones."""
    requests: WindowState | None = None
    tokens: WindowState | None = None
    for state in windows:
        if state.window.endswith(":requests"):
            if requests is None or _binds_before(state, requests):
                requests = state
        elif tokens is None or _binds_before(state, tokens):
            tokens = state
    headers: dict[str, str] = {}
    if requests is not None:
        _describe(headers, _REQUESTS_HEADERS, requests)
    if tokens is not None:
        _describe(headers, _TOKENS_HEADERS, tokens)
    return headers


def _binds_before(state: WindowState, best: WindowState) -> bool:
    """Less remaining, or as much remaining for longer; the first window wins a tie."""
    remaining = state.limit - state.used
    best_remaining = best.limit - best.used
    return remaining < best_remaining or (
        remaining == best_remaining and state.reset_after > best.reset_after
    )


def _describe(headers: dict[str, str], names: tuple[str, str, str], state: WindowState) -> None:
    limit_name, remaining_name, reset_name = names
    remaining = state.limit - state.used
    headers[limit_name] = str(state.limit)
    headers[remaining_name] = str(remaining if remaining > 0 else 0)
    headers[reset_name] = format_reset(state.reset_after)


def _refusal(
    outcome: HitOutcome, hits: Sequence[WindowHit], headers: dict[str, str], label: str
) -> RateLimitError:
    retry_after = max(math.ceil(outcome.retry_after), 1)
    limits = {hit.window: hit.limit for hit in hits}
    reasons = []
    for window in outcome.refused:
        scope, _, kind = window.rpartition(":")
        who = "the gateway's global [rate_limit]" if scope == "global" else label
        if scope.startswith("team:"):
            who = f"team {scope.removeprefix('team:')!r}"
        reasons.append(f"{who} allows {limits[window]} {kind} per minute")
    message = f"Rate limit reached: {'; '.join(reasons)}. Retry after {retry_after} s"
    if any(window.endswith(":tokens") for window in outcome.refused):
        message += ", or lower max_tokens (it counts against the token limit)"
    message += "."
    return RateLimitError(message, headers={"retry-after": str(retry_after), **headers})
