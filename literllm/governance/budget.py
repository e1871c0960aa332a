"""Spend caps: reserve a call's maximum cost before it, settle to its real cost after.

Caps (`[[keys]].budget_limit`, `[budget].global_limit`, `[budget].model_limits`) are
lifetime USD limits on spend counters in the state store: `key:<id>`, `global` and
`model:<provider/model>` (the provider in the registry's spelling, whichever spelling
the config or the request used). A reservation holds `max_cost` on every cap that applies
until it is settled or released (or expires, for a crashed process), so concurrent
requests can never together overshoot a cap. `enforcement = "hard"` refuses a request
that does not fit with 402; `"soft"` logs it, counts it and lets it through.

A cap with a `budget_duration` (extension; see `periods.py`) applies to the counter of
the current period, `<cap>@<duration>:<start>`, which is charged beside the lifetime one.
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Callable, Sequence

from ..config.schema import Config, KeyConfig
from ..errors import BudgetExceededError
from ..state import Cap, CapShortfall, StateStore
from .periods import Period, parse_duration, split_stamped

__all__ = ["BudgetGuard", "spend_names"]

_log = logging.getLogger("literllm.governance.budget")


def spend_names(key_id: str, provider_model: str | None, team: str | None = None) -> list[str]:
    """The spend counters one response's cost is added to."""
    names = ["global", f"key:{key_id}"]
    if team is not None:
        names.append(f"team:{team}")
    if provider_model is not None:
        names.append(f"model:{provider_model}")
    return names


class BudgetGuard:
    def __init__(
        self,
        store: StateStore,
        config: Config,
        canonical: Callable[[str], str] = lambda name: name,
    ) -> None:
        """`canonical` maps a `[budget.model_limits]` key to the provider spelling spend
        is recorded under (`together/x` -> `together_ai/x`), so either spelling applies."""
        self._store = store
        budget = config.budget
        self._global_limit = budget.global_limit if budget else None
        self._model_limits = (
            {canonical(name): limit for name, limit in budget.model_limits.items()}
            if budget
            else {}
        )
        self._hard = budget is None or budget.enforcement == "hard"
        self._global_period = _period(budget.budget_duration if budget else None)
        self._model_period = _period(budget.model_budget_duration if budget else None)
        self.has_periods = self._global_period is not None or self._model_period is not None
        """Whether a `[budget]` cap is periodic (a key's own may be, whatever this says)."""
        self._teams = {team.name: team for team in config.teams}
        self.soft_overruns: collections.Counter[str] = collections.Counter()
        """Requests let through over a cap under soft enforcement, by cap (this process)."""

    def is_periodic(self, key: KeyConfig | None) -> bool:
        """Whether any cap on a request of `key` is periodic."""
        if self.has_periods:
            return True
        if key is None:
            return False
        team = self._teams.get(key.team) if key.team is not None else None
        return key.budget_duration is not None or (
            team is not None and team.budget_duration is not None
        )

    def caps(self, key_id: str, key: KeyConfig | None, provider_model: str) -> list[Cap]:
        caps: list[Cap] = []
        if key is not None and key.budget_limit is not None:
            caps.append(Cap(f"key:{key_id}", key.budget_limit))
        team = self._teams.get(key.team) if key is not None and key.team is not None else None
        if team is not None and team.budget_limit is not None:
            caps.append(Cap(f"team:{team.name}", team.budget_limit))
        if self._global_limit is not None:
            caps.append(Cap("global", self._global_limit))
        model_limit = self._model_limits.get(provider_model)
        if model_limit is not None:
            caps.append(Cap(f"model:{provider_model}", model_limit))
        return caps

    def model_limit_names(self) -> list[str]:
        """The models with a spend limit, in the spelling spend is recorded under."""
        return list(self._model_limits)

    def period_of(self, name: str, key: KeyConfig | None) -> Period | None:
        """The period of the cap on counter `name` (`global`, `model:...`, `key:...`),
        None for a lifetime cap or no cap."""
        if name == "global":
            return self._global_period if self._global_limit is not None else None
        if name.startswith("model:"):
            if name.removeprefix("model:") in self._model_limits:
                return self._model_period
            return None
        if name.startswith("key:") and key is not None and key.budget_limit is not None:
            return _period(key.budget_duration)
        if name.startswith("team:"):
            team = self._teams.get(name.removeprefix("team:"))
            if team is not None and team.budget_limit is not None:
                return _period(team.budget_duration)
        return None

    def current_spend(
        self, name: str, key: KeyConfig | None, spend: dict[str, float], now: float
    ) -> float:
        """What counts against the cap on `name` now: this period's spend, or the
        lifetime spend for a lifetime cap."""
        period = self.period_of(name, key)
        return spend.get(name if period is None else period.stamp(name, now), 0.0)

    def limit_of(self, cap: str) -> float | None:
        if cap == "global":
            return self._global_limit
        if cap.startswith("model:"):
            return self._model_limits.get(cap.removeprefix("model:"))
        return None

    async def reserve(
        self,
        reservation_id: str,
        caps: Sequence[Cap],
        max_cost: float,
        *,
        label: str,
        now: float,
        expires_at: float,
    ) -> None:
        outcome = await self._store.reserve(
            reservation_id, caps, max_cost, now=now, expires_at=expires_at, enforce=self._hard
        )
        if not outcome.shortfalls:
            return
        reasons = "; ".join(_describe(s, label) for s in outcome.shortfalls)
        if not outcome.reserved:
            raise BudgetExceededError(
                f"Budget exceeded: {reasons}; this request may cost up to "
                f"${max_cost:.6f}. Raise the cap, use a cheaper model or lower max_tokens."
            )
        for shortfall in outcome.shortfalls:
            self.soft_overruns[shortfall.name] += 1
        _log.warning(
            "soft budget overrun (request allowed): %s; may cost up to $%.6f", reasons, max_cost
        )


def _period(text: str | None) -> Period | None:
    return None if text is None else parse_duration(text)


def _describe(shortfall: CapShortfall, label: str) -> str:
    remaining = max(shortfall.remaining, 0.0)
    name, when = shortfall.name, ""
    stamped = split_stamped(name)
    if stamped is not None:
        name, duration, start = stamped
        when = f" for the {duration} period from {start} (UTC)"
    if name == "global":
        cap = "the global [budget] global_limit"
    elif name.startswith("model:"):
        cap = f'[budget.model_limits] "{name.removeprefix("model:")}"'
    elif name.startswith("team:"):
        cap = f'the budget_limit of team "{name.removeprefix("team:")}"'
    else:
        cap = f"the budget_limit of {label}"
    return f"{cap} of ${shortfall.limit:.2f}{when} has ${remaining:.6f} remaining"
