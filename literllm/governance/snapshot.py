"""What the admin API reports of limits, windows and spend: typed, never a token."""

from __future__ import annotations

import msgspec

__all__ = [
    "GlobalStatus",
    "GovernanceSnapshot",
    "KeyStatus",
    "Limits",
    "MasterStatus",
    "ModelSpend",
    "StateStatus",
    "WindowUsage",
]


class Limits(msgspec.Struct, frozen=True, kw_only=True):
    rpm: int | None = None
    tpm: int | None = None
    budget_limit: float | None = None


class WindowUsage(msgspec.Struct, frozen=True, kw_only=True):
    """Requests and tokens in the current minute; None where no limit keeps a window."""

    requests: int | None = None
    tokens: int | None = None


class KeyStatus(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    description: str | None
    models: list[str]
    limits: Limits
    window: WindowUsage
    spend: float
    remaining_budget: float | None


class ModelSpend(msgspec.Struct, frozen=True, kw_only=True):
    spend: float
    limit: float | None
    remaining_budget: float | None


class StateStatus(msgspec.Struct, frozen=True, kw_only=True):
    backend: str
    fail_open: bool


class GlobalStatus(msgspec.Struct, frozen=True, kw_only=True):
    limits: Limits
    window: WindowUsage
    spend: float
    remaining_budget: float | None
    enforcement: str
    soft_overruns_this_process: dict[str, int]


class MasterStatus(msgspec.Struct, frozen=True, kw_only=True):
    spend: float


class GovernanceSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    state: StateStatus
    global_: GlobalStatus = msgspec.field(name="global")
    master: MasterStatus
    keys: list[KeyStatus]
    models: dict[str, ModelSpend]
