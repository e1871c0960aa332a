"""Build a gateway's `HookSet` from `[[hooks]]`, `[[guardrails]]` and code.

The config loader has already checked each `path` and its settings (with file and
line); what can only fail here (a factory raising, a result that is no hook) is a
`ConfigError` naming the table entry.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..clock import Clock
from ..config import Config
from ..config.guardrails import (
    ModerationSettings,
    PatternSettings,
    TokenLimitSettings,
    guardrail_settings,
)
from ..config.hookpath import resolve_factory
from ..errors import ConfigError
from .base import Hook
from .moderation import Moderate, ModerationGuardrail
from .patterns import PatternGuardrail
from .runner import HookSet, Registered
from .tokens import InputTokenLimit

__all__ = ["build_hooks"]


def build_hooks(
    config: Config,
    code: Sequence[Hook | Registered | object],
    *,
    clock: Clock,
    estimate_tokens: Callable[[dict[str, Any]], int],
    moderate: Moderate | None = None,
) -> HookSet | None:
    """Every hook in order: guardrails, then `[[hooks]]`, then those given in code.
    None when there are none (the request path then skips hooks entirely)."""
    registered: list[Registered] = []
    for index, guardrail in enumerate(config.guardrails):
        settings = guardrail_settings(guardrail.type, guardrail.settings)
        hook: Hook
        if isinstance(settings, PatternSettings):
            hook = PatternGuardrail(settings)
        elif isinstance(settings, ModerationSettings):
            if moderate is None:
                raise ConfigError(
                    f"[[guardrails]] #{index + 1}: a moderation guardrail needs the "
                    "gateway's moderation path",
                    path="[[guardrails]]",
                )
            hook = ModerationGuardrail(settings, moderate)
        else:
            assert isinstance(settings, TokenLimitSettings)
            hook = InputTokenLimit(settings, estimate_tokens)
        hook.name = f"guardrails[{index}]:{guardrail.type}"
        points = None
        if isinstance(settings, ModerationSettings):  # the answer only when asked
            points = ["before_request"]
            if settings.check_output:
                points += ["after_response", "on_stream_chunk"]
        registered.append(
            Registered(
                hook,
                points=points,
                keys=guardrail.keys,
                models=guardrail.models,
                on_failure=guardrail.on_failure,
            )
        )
    for index, entry in enumerate(config.hooks):
        where = f"[[hooks]] #{index + 1} ({entry.path})"
        try:
            made = resolve_factory(entry.path)(**entry.settings)
        except Exception as exc:
            raise ConfigError(
                f"{where}: the factory failed ({type(exc).__name__}: {exc}); "
                "expected it to return a hook",
                path="[[hooks]]",
            ) from None
        try:
            registered.append(
                Registered(
                    made,
                    points=entry.on,
                    keys=entry.keys,
                    models=entry.models,
                    on_failure=entry.on_failure,
                )
            )
        except TypeError as exc:
            raise ConfigError(
                f"{where}: {exc}; expected an object with the async methods listed in `on`",
                path="[[hooks]]",
            ) from None
    for item in code:
        registered.append(item if isinstance(item, Registered) else Registered(item))
    if not registered:
        return None
    return HookSet(registered, clock=clock, estimate_tokens=estimate_tokens)
