"""Hooks and guardrails: plain async Python at fixed points of every request.

Write a `Hook` subclass, register it with `Proxy(config, hooks=[...])` or a `[[hooks]]`
table; built-in guardrails come from `[[guardrails]]`. docs/hooks.md describes it all.
"""

from .base import (
    POINTS,
    Completion,
    EndStream,
    Hook,
    HookFailedError,
    RequestContext,
    RequestRejected,
)
from .lookahead import TextLookahead
from .registry import build_hooks
from .runner import Hooks, HookSet, Registered

__all__ = [
    "POINTS",
    "Completion",
    "EndStream",
    "Hook",
    "HookFailedError",
    "HookSet",
    "Hooks",
    "Registered",
    "RequestContext",
    "RequestRejected",
    "TextLookahead",
    "build_hooks",
]
