"""Typed settings of the built-in guardrails (`[[guardrails]] settings`), one struct a type.

They live with the configuration so that a mistyped setting is a located config error;
`literllm.hooks.guardrails` builds the guardrails from them.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct, field

__all__ = [
    "ENTITIES",
    "ModerationSettings",
    "PatternSettings",
    "TokenLimitSettings",
    "guardrail_settings",
]

Entity = Literal["email", "phone", "card", "iban", "api_key"]
ENTITIES: tuple[str, ...] = ("email", "phone", "card", "iban", "api_key")


class PatternSettings(Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    """`type = "patterns"`: redact or block personal data and secrets."""

    entities: list[Entity] = field(default_factory=lambda: list(ENTITIES))  # type: ignore[arg-type]
    custom: dict[str, str] = field(default_factory=dict)
    action: Literal["redact", "block"] = "redact"
    apply_to: list[Literal["input", "output"]] = field(default_factory=lambda: ["input", "output"])
    status: Annotated[int, Meta(ge=400, le=599)] = 400
    stream_lookahead: Annotated[int, Meta(ge=1, le=4096)] = 64


class TokenLimitSettings(Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    """`type = "max_input_tokens"`: refuse prompts estimated above the limit."""

    max_input_tokens: Annotated[int, Meta(ge=1)]
    status: Annotated[int, Meta(ge=400, le=599)] = 400


class ModerationSettings(Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    """`type = "moderation"`: ask a moderation model (through the gateway's own
    `/v1/moderations` path) and refuse what it flags."""

    model: str
    check_output: bool = False
    categories: list[str] = field(default_factory=list)
    status: Annotated[int, Meta(ge=400, le=599)] = 400


_TYPES: dict[str, type[Struct]] = {
    "patterns": PatternSettings,
    "max_input_tokens": TokenLimitSettings,
    "moderation": ModerationSettings,
}


def guardrail_settings(kind: str, settings: dict[str, Any]) -> Struct:
    """The typed settings; raises `ValueError` with a readable reason when they are wrong."""
    try:
        typed = msgspec.convert(settings, _TYPES[kind])
    except msgspec.ValidationError as exc:
        raise ValueError(str(exc)) from None
    if isinstance(typed, PatternSettings):
        for name, pattern in typed.custom.items():
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"custom pattern {name!r} is not a valid regex ({exc})") from None
    return typed
