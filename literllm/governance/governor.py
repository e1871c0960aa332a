"""Governance facade: rate limits, budgets and cost accounting for one request.

The `Proxy` calls, per request::

    governor = Governor.from_config(config, clock=clock)   # once; no I/O
    await governor.start()                                 # open / connect the state store
    admission = await governor.admit(key=key_config_or_None, model=alias,
                                     estimated_tokens=estimate_request_tokens(body))
    try:
        await admission.reserve(provider_model=pm, max_cost=governor.estimate_max_cost(
            pm, estimate_prompt_tokens(body), governor.output_cap(pm, requested)))
        ...  # call upstream; on fallback, reserve() again for the next provider_model
        cost = await admission.settle(provider_model=pm, usage=usage)  # None: cache hit
    finally:
        await admission.release()                           # no-op after settle
    ...
    await governor.aclose()

`admit` raises `RateLimitError` (429, `retry-after` and `x-ratelimit-*` headers) or
`ServiceUnavailableError` (503: state store unreachable and `[state] fail_open` is
false). `reserve` raises `BudgetExceededError` (402). `Admission.headers` holds
OpenAI's `x-ratelimit-{limit,remaining,reset}-{requests,tokens}` for every request that
any limit applies to: each pair describes the binding window (least remaining) of the
key's and the global `[rate_limit]` ones. `settle` and `release` never raise: a store
failure there is logged (the response has already been served).

Identity: a key is known in state, logs and errors by `key_id(token)`, the first
16 hex digits of its SHA-256 (`k-...`), stable across processes and restarts; the
master key is `master`. Tokens never appear in state, errors or logs.

Accounting rules: a request counts in the requests windows when admitted, whatever
happens next (failed, cancelled and cache-hit requests included). Its token estimate
is replaced by the real `total_tokens` when settled, and by 0 when released without a
settle (failed or cancelled before usage was known) or settled without usage (cache
hit). Cost is 0 without usage and for unpriced models (logged once per Governor).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import math
import os
from collections.abc import Awaitable, Callable, Sequence
from types import TracebackType

from ..clock import Clock
from ..config.schema import Config, KeyConfig
from ..errors import ServiceUnavailableError
from ..identity import MASTER_KEY_ID, key_id
from ..observability.throttle import ThrottledLog
from ..pricing import Pricing
from ..state import Cap, StateStore, StateUnavailableError, create_state_store
from ..state.base import HashRecord
from ..types import Usage
from .budget import BudgetGuard, spend_names
from .endusers import EndUsers
from .periods import DAILY, DAY_SECONDS, split_stamped
from .ratelimit import WINDOW_SECONDS, RateLimiter, token_updates
from .snapshot import (
    GlobalStatus,
    GovernanceSnapshot,
    KeyStatus,
    Limits,
    MasterStatus,
    ModelSpend,
    StateStatus,
    WindowUsage,
)

__all__ = [
    "DEFAULT_MAX_OUTPUT_TOKENS",
    "LEASE_SECS",
    "Admission",
    "Governor",
]

_log = logging.getLogger("literllm.governance.governor")

LEASE_SECS = 30.0
"""With a shared store, a reservation lapses this long after its process last renewed
it (every `LEASE_SECS / 3` while its request runs): only a dead process's lapse."""
OUTAGE_LOG_SECS = 5.0
"""While the state store is down, its log lines repeat at most this often (with a count)."""
DEFAULT_MAX_OUTPUT_TOKENS = 4096
"""Output cap for the budget estimate when neither the request nor the price table has one."""


def _label(key_id: str, key: KeyConfig | None) -> str:
    if key is None:
        return "the master key"
    if key.description:
        return f"key {key_id} ({key.description!r})"
    return f"key {key_id}"


_REMEMBERED_MODELS = 1024
"""Provider models whose caps and spend counters one key remembers at most."""


class _KeyRules:
    """What governing one key's requests takes, worked out on its first request: its id,
    how refusals name it, its rate-limit windows and, per provider_model, its budget
    caps and spend counters."""

    __slots__ = (
        "_budget",
        "_caps",
        "_day",
        "_periodic",
        "_spend_names",
        "_stamped",
        "key",
        "key_id",
        "label",
        "windows",
    )

    def __init__(
        self, key_id: str, key: KeyConfig | None, limiter: RateLimiter, budget: BudgetGuard
    ) -> None:
        self.key = key
        self.key_id = key_id
        self.label = _label(key_id, key)
        self.windows = limiter.windows(key_id, key)
        self._budget = budget
        self._caps: dict[str, tuple[Cap, ...]] = {}
        self._spend_names: dict[str | None, tuple[str, ...]] = {}
        self._periodic = budget.is_periodic(key)
        self._stamped: dict[str | None, tuple[int, tuple[str, ...]]] = {}
        """provider_model -> (UTC day, its spend names stamped for that day)"""
        self._day = (-1, "")

    def caps(self, provider_model: str) -> tuple[Cap, ...]:
        caps = self._caps.get(provider_model)
        if caps is None:
            caps = tuple(self._budget.caps(self.key_id, self.key, provider_model))
            if len(self._caps) >= _REMEMBERED_MODELS:
                self._caps.clear()  # passthrough names are the client's choice
            self._caps[provider_model] = caps
        return caps

    def caps_at(self, provider_model: str, when: float) -> tuple[Cap, ...]:
        """`caps`, periodic ones on the counter of the period holding `when`."""
        caps = self._caps.get(provider_model)
        if caps is None:
            caps = self.caps(provider_model)
        if not self._periodic:
            return caps
        stamped = []
        for cap in caps:
            period = self._budget.period_of(cap.name, self.key)
            stamped.append(cap if period is None else Cap(period.stamp(cap.name, when), cap.limit))
        return tuple(stamped)

    def spend_names_at(
        self, provider_model: str | None, when: float, end_user: str | None = None
    ) -> tuple[str, ...]:
        """`spend_names` (and the end user's counter), each also on its counter of the
        UTC day holding `when`, and on the counter of the period holding `when` of
        each periodic cap."""
        day = int(when // DAY_SECONDS)
        if end_user is None:
            cached = self._stamped.get(provider_model)
            if cached is not None and cached[0] == day:
                return cached[1]
        names = self.spend_names(provider_model)
        if end_user is not None:
            names = (*names, end_user)
        label = self._day_label(day)
        stamped = [*names, *(f"{name}@1d:{label}" for name in names)]
        if self._periodic:
            for name in names:
                period = self._budget.period_of(name, self.key)
                if period is not None and period.text != "1d":
                    stamped.append(period.stamp(name, when))
        result = tuple(stamped)
        if end_user is None:
            if len(self._stamped) >= _REMEMBERED_MODELS:
                self._stamped.clear()
            self._stamped[provider_model] = (day, result)
        return result

    def _day_label(self, day: int) -> str:
        if self._day[0] != day:
            self._day = (day, DAILY.start(day * DAY_SECONDS).isoformat())
        return self._day[1]

    def spend_names(self, provider_model: str | None) -> tuple[str, ...]:
        names = self._spend_names.get(provider_model)
        if names is None:
            team = self.key.team if self.key is not None else None
            names = tuple(spend_names(self.key_id, provider_model, team))
            if len(self._spend_names) >= _REMEMBERED_MODELS:
                self._spend_names.clear()
            self._spend_names[provider_model] = names
        return names


class Governor:
    def __init__(
        self, config: Config, *, clock: Clock, store: StateStore, pricing: Pricing
    ) -> None:
        self._config = config
        self._clock = clock
        self._store = store
        self.pricing = pricing
        self._limiter = RateLimiter(store, config)
        self._budget = BudgetGuard(store, config, canonical=pricing.canonical)
        # Reservations last as long as their request. In process memory they never
        # expire (they die with the process); in a shared store they hold a lease this
        # process renews while the request runs, so only a dead process's ones lapse.
        self._leased = not store.settles_without_suspending
        self._lease = LEASE_SECS if self._leased else math.inf
        """How long a reservation lasts unrenewed (in process memory: for ever)."""
        self._live: set[str] = set()
        """entry ids of this process's requests holding a reservation"""
        self._renewer: asyncio.Task[None] | None = None
        self._fail_open = config.state.fail_open
        # An outage touches every request: one line per few seconds, with a count.
        self._refusing = ThrottledLog(_log, logging.ERROR, clock, interval=OUTAGE_LOG_SECS)
        self._passing = ThrottledLog(_log, logging.WARNING, clock, interval=OUTAGE_LOG_SECS)
        self._unrecorded = ThrottledLog(_log, logging.ERROR, clock, interval=OUTAGE_LOG_SECS)
        self._unpriced_logged: set[str] = set()
        self._configured_models = {model.provider_model for model in config.models}
        self._key_ids = {key.key: key_id(key.key) for key in config.keys}
        self._rules: dict[str | None, _KeyRules] = {}
        """key token (None: the master key) -> its rules"""
        self._in_process = store.settles_without_suspending
        self.end_users: EndUsers | None = None
        """Set by the gateway to count spend per end user (needs the record store)."""
        # Entry ids: unique across processes sharing a store, cheaper than uuid4.
        self._id_prefix = os.urandom(8).hex()
        self._ids = itertools.count(1)

    @classmethod
    def from_config(
        cls,
        config: Config,
        *,
        clock: Clock,
        pricing: Pricing | None = None,
        store: StateStore | None = None,
    ) -> Governor:
        """Build from `[state]`, `[rate_limit]`, `[budget]` and `[[keys]]`; no I/O."""
        return cls(
            config,
            clock=clock,
            store=store if store is not None else create_state_store(config.state),
            pricing=pricing if pricing is not None else Pricing.load(),
        )

    @property
    def state(self) -> StateStore:
        """The state store (batches keep their progress there too)."""
        return self._store

    async def start(self) -> None:
        """Open the store. Unreachable: 503-style error unless `fail_open`."""
        try:
            await self._store.start()
        except StateUnavailableError as error:
            if not self._fail_open:
                raise self._refusal(error) from error
            _log.warning("state store unavailable at start, failing open: %s", error)
        if self._leased and self._renewer is None:
            self._renewer = asyncio.create_task(self._renew_forever())

    async def aclose(self) -> None:
        renewer, self._renewer = self._renewer, None
        if renewer is not None:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer
        await self._store.aclose()

    def reservation_expiry(self, now: float) -> float:
        """When a reservation made or renewed at `now` lapses if nobody renews it."""
        return now + self._lease

    async def renew_leases(self) -> None:
        """Extend the lease of every reservation this process's running requests hold
        (the renewer calls it every `LEASE_SECS / 3` seconds)."""
        if not self._live:
            return
        now = self._clock.time()
        try:
            await self._store.renew(
                list(self._live), now=now, expires_at=self.reservation_expiry(now)
            )
        except StateUnavailableError as error:
            self._unrecorded.log(
                "state store unavailable, %d reservation leases not renewed: %s",
                len(self._live),
                error,
            )

    async def _renew_forever(self) -> None:
        # Real time, not the injected clock: leases expire in the store's real time.
        while True:
            await asyncio.sleep(LEASE_SECS / 3)
            await self.renew_leases()

    def output_cap(self, provider_model: str, requested: int | None) -> int:
        """Output tokens a call may produce: the request's cap, else the model's, else
        `DEFAULT_MAX_OUTPUT_TOKENS`."""
        if requested is not None:
            return requested
        known = self.pricing.max_output_tokens(provider_model)
        return known if known is not None else DEFAULT_MAX_OUTPUT_TOKENS

    def estimate_max_cost(
        self, provider_model: str, prompt_tokens: int, max_output_tokens: int
    ) -> float:
        price = self.pricing.price(provider_model)
        return 0.0 if price is None else price.max_cost(prompt_tokens, max_output_tokens)

    def cost(self, provider_model: str | None, usage: Usage | None) -> float:
        if provider_model is None or usage is None:
            return 0.0
        price = self.pricing.price(provider_model)
        if price is None:
            if provider_model not in self._unpriced_logged:
                self._log_unpriced(provider_model)
            return 0.0
        return price.cost(usage)

    def _log_unpriced(self, provider_model: str) -> None:
        if provider_model in self._configured_models:
            self._unpriced_logged.add(provider_model)
            _log.warning("model %s has no price; its cost is counted as 0", provider_model)
            return
        # A passthrough name is the client's text (it may even be a key sent as `model`):
        # it is never logged, and one line per provider is enough.
        provider = provider_model.partition("/")[0]
        seen = f"{provider}/*"
        if seen not in self._unpriced_logged and len(self._unpriced_logged) < _REMEMBERED_MODELS:
            self._unpriced_logged.add(seen)
            _log.warning(
                "a passthrough model of provider %r has no price; its cost is counted as 0",
                provider if provider.isidentifier() else "?",
            )

    async def admit(
        self,
        *,
        key: KeyConfig | None,
        model: str,
        estimated_tokens: int,
        prompt_tokens: int | None = None,
    ) -> Admission:
        """Count the request in the rate-limit windows (per key, then global).
        `estimated_tokens` is the prompt estimate plus the output cap; with
        `prompt_tokens` (the prompt estimate) given, a tokens window too full for it
        may still admit the request with less output reserved (docs/governance.md)."""
        rules = self._rules_of(key)
        entry_id = f"{self._id_prefix}{next(self._ids):x}"
        estimate = max(estimated_tokens, 1)
        admission = Admission(self, entry_id, rules, estimate)
        minimum = None
        if prompt_tokens is not None and estimate > prompt_tokens:
            minimum = max(prompt_tokens, 0) + 1
        try:
            admission.headers, admission._estimate = await self._limiter.admit(
                entry_id,
                rules.windows,
                estimate,
                label=rules.label,
                now=self._clock.time(),
                minimum_tokens=minimum,
            )
        except StateUnavailableError as error:
            self._unavailable(error, f"rate limits for {model}")
            admission.degraded = True  # nothing was counted: no limits or budgets to check
            admission._token_windows = ()
        return admission

    def _rules_of(self, key: KeyConfig | None) -> _KeyRules:
        token = None if key is None else key.key
        rules = self._rules.get(token)
        if rules is None or rules.key is not key:  # another config's key with this token
            name = MASTER_KEY_ID if key is None else self._key_id(key)
            rules = self._rules[token] = _KeyRules(name, key, self._limiter, self._budget)
        return rules

    def _key_id(self, key: KeyConfig) -> str:
        known = self._key_ids.get(key.key)
        if known is None:
            known = self._key_ids[key.key] = key_id(key.key)
        return known

    def _unavailable(self, error: StateUnavailableError, what: str) -> None:
        if not self._fail_open:
            raise self._refusal(error) from error
        self._passing.log(
            "state store unavailable, failing open (%s not enforced): %s", what, error
        )

    def _refusal(self, error: StateUnavailableError) -> ServiceUnavailableError:
        """What the client is told; the store's address and the cause go to the log."""
        self._refusing.log("state store unavailable, refusing requests (fail closed): %s", error)
        return ServiceUnavailableError(
            "The gateway cannot check rate limits and budgets because its state store is "
            "unavailable. Retry later; the operator can restore the state store or set "
            "[state] fail_open = true."
        )

    async def _quietly(self, operation: Awaitable[None], what: Callable[[], str]) -> None:
        """Run a settlement that must not be lost to the client going away. The memory
        store never suspends, so only the others need shielding (a task each)."""
        try:
            if self._in_process:
                await operation
            else:
                await asyncio.shield(operation)
        except StateUnavailableError as error:
            self._unrecorded.log("state store unavailable, %s was not recorded: %s", what(), error)

    async def spend_counters(self) -> dict[str, float]:
        """Every spend counter, lifetime and per period (for the admin API)."""
        return await self._store.spend()

    def now(self) -> float:
        return self._clock.time()

    def name_key(self, token: str, key_id: str) -> None:
        """Know the key whose `KeyConfig.key` is `token` by `key_id` (a runtime key keeps
        the id of its first secret across rotations)."""
        self._key_ids[token] = key_id

    async def key_statuses(self, keys: Sequence[KeyConfig]) -> list[KeyStatus]:
        """Limits, window usage and spend of `keys` (the runtime ones, for the admin API)."""
        now = self._clock.time()
        ids = [self._key_id(key) for key in keys]
        windows = [f"key:{i}:{kind}" for i in ids for kind in ("requests", "tokens")]
        usage = await self._store.usage(windows, now=now, window_seconds=WINDOW_SECONDS)
        spend = await self._store.spend()
        return [
            self._key_status(key, name, usage, spend, now)
            for key, name in zip(keys, ids, strict=True)
        ]

    def _key_status(
        self,
        key: KeyConfig,
        name: str,
        usage: dict[str, int],
        spend: dict[str, float],
        now: float,
    ) -> KeyStatus:
        return KeyStatus(
            id=name,
            description=key.description,
            models=list(key.models),
            limits=Limits(rpm=key.rpm, tpm=key.tpm, budget_limit=key.budget_limit),
            window=WindowUsage(
                requests=_counted(usage, f"key:{name}:requests", key.rpm),
                tokens=_counted(usage, f"key:{name}:tokens", key.tpm),
            ),
            spend=spend.get(f"key:{name}", 0.0),
            remaining_budget=_remaining(
                key.budget_limit, self._budget.current_spend(f"key:{name}", key, spend, now)
            ),
        )

    async def snapshot(self) -> GovernanceSnapshot:
        """Limits, window usage and spend for the admin API; never contains a token."""
        now = self._clock.time()
        windows: list[str] = ["global:requests", "global:tokens"]
        for key in self._config.keys:
            key_id = self._key_id(key)
            windows += [f"key:{key_id}:requests", f"key:{key_id}:tokens"]
        usage = await self._store.usage(windows, now=now, window_seconds=WINDOW_SECONDS)
        spend = await self._store.spend()
        keys = [
            self._key_status(key, self._key_id(key), usage, spend, now) for key in self._config.keys
        ]
        rate_limit = self._config.rate_limit
        global_rpm = rate_limit.rpm if rate_limit else None
        global_tpm = rate_limit.tpm if rate_limit else None
        global_limit = self._budget.limit_of("global")
        models: dict[str, ModelSpend] = {}
        model_names = {
            n.removeprefix("model:")
            for n in spend
            if n.startswith("model:") and split_stamped(n) is None
        }
        model_names.update(self._budget.model_limit_names())
        for name in sorted(model_names):
            spent = spend.get(f"model:{name}", 0.0)
            limit = self._budget.limit_of(f"model:{name}")
            models[name] = ModelSpend(
                spend=spent,
                limit=limit,
                remaining_budget=_remaining(
                    limit, self._budget.current_spend(f"model:{name}", None, spend, now)
                ),
            )
        global_spent = spend.get("global", 0.0)
        return GovernanceSnapshot(
            state=StateStatus(
                backend=self._config.state.backend, fail_open=self._config.state.fail_open
            ),
            global_=GlobalStatus(
                limits=Limits(rpm=global_rpm, tpm=global_tpm, budget_limit=global_limit),
                window=WindowUsage(
                    requests=_counted(usage, "global:requests", global_rpm),
                    tokens=_counted(usage, "global:tokens", global_tpm),
                ),
                spend=global_spent,
                remaining_budget=_remaining(
                    global_limit, self._budget.current_spend("global", None, spend, now)
                ),
                enforcement=self._config.budget.enforcement if self._config.budget else "hard",
                soft_overruns_this_process=dict(self._budget.soft_overruns),
            ),
            master=MasterStatus(spend=spend.get(f"key:{MASTER_KEY_ID}", 0.0)),
            keys=keys,
            models=models,
        )


def _counted(usage: dict[str, int], window: str, limit: int | None) -> int | None:
    """Usage of a window, or None when no limit applies (the window is not kept)."""
    return None if limit is None else usage[window]


def _remaining(limit: float | None, spent: float) -> float | None:
    return None if limit is None else max(limit - spent, 0.0)


class Admission:
    """One admitted request's claims on limits and budgets. Also an async context
    manager that releases on exit."""

    __slots__ = (
        "_cost",
        "_done",
        "_estimate",
        "_governor",
        "_period_time",
        "_reserved_before",
        "_rules",
        "_token_windows",
        "degraded",
        "end_user",
        "entry_id",
        "headers",
    )

    def __init__(
        self, governor: Governor, entry_id: str, rules: _KeyRules, estimated_tokens: int
    ) -> None:
        self._governor = governor
        self.entry_id = entry_id
        self._rules = rules
        self._estimate = estimated_tokens
        """What the tokens windows were charged at admission."""
        self._token_windows: Sequence[str] = rules.windows.token_windows
        self.headers: dict[str, str] = {}
        self.degraded = False
        """True when the store was unreachable and the request passed by `fail_open`; its
        later checks are skipped (each would wait for the store's timeout again), its
        spend is still recorded if the store answers by then."""
        self._done = False
        self._cost = 0.0
        self._reserved_before = False
        self._period_time: float | None = None
        """When the request first reserved: periodic caps are charged in that period."""
        self.end_user: str | None = None
        """The end user the request names (OpenAI `user`), whose spend is counted."""

    @property
    def key_id(self) -> str:
        return self._rules.key_id

    @property
    def key(self) -> KeyConfig | None:
        return self._rules.key

    def estimate_max_cost(
        self, provider_model: str, prompt_tokens: int, max_output_tokens: int
    ) -> float:
        return self._governor.estimate_max_cost(provider_model, prompt_tokens, max_output_tokens)

    async def reserve(self, *, provider_model: str, max_cost: float) -> None:
        """Hold `max_cost` on every cap that applies (replacing an earlier hold of this
        request). Raises `BudgetExceededError` (402) under hard enforcement; after a
        refusal this request holds no reservation."""
        if self._done or self.degraded:
            return
        governor = self._governor
        now = governor._clock.time()
        if self._period_time is None:
            self._period_time = now
        caps = self._rules.caps_at(provider_model, self._period_time)
        if not caps and not self._reserved_before:
            return
        self._reserved_before = True
        try:
            await governor._budget.reserve(
                self.entry_id,
                caps,
                max(max_cost, 0.0),
                label=self._rules.label,
                now=now,
                expires_at=now + governor._lease,  # reservation_expiry(now), inlined
            )
        except StateUnavailableError as error:
            governor._unavailable(error, f"budget for {provider_model}")
            self.degraded = True
            return
        governor._live.add(self.entry_id)

    async def settle(
        self,
        *,
        provider_model: str | None,
        usage: Usage | None,
        cost: float | None = None,
        record: Callable[[float], HashRecord] | None = None,
    ) -> float:
        """Record the real cost and tokens, free the reservation; returns the cost (USD).
        `usage=None` (a cache hit) costs 0 and uses no tokens. `cost`, when given, is the
        price of a call priced by another unit than tokens (images, seconds, pages).
        Idempotent."""
        if self._done:
            return self._cost
        self._done = True
        governor = self._governor
        governor._live.discard(self.entry_id)
        if cost is None:
            cost = governor.cost(provider_model, usage)
        self._cost = cost
        tokens = 0
        if usage is not None:
            tokens = usage.total_tokens or usage.prompt_tokens + usage.completion_tokens
        updates = token_updates(self._token_windows, self._estimate, tokens)
        written = record(cost) if record is not None else None
        if cost or updates or self._reserved_before or written is not None:
            now = governor._clock.time()
            when = now if self._period_time is None else self._period_time
            user = None
            if self.end_user is not None and governor.end_users is not None and cost:
                user = await governor.end_users.counter(self._rules.key_id, self.end_user)
            await governor._quietly(
                governor._store.settle(
                    self.entry_id,
                    self._rules.spend_names_at(provider_model, when, user),
                    cost,
                    now=now,
                    tokens=updates,
                    window_seconds=WINDOW_SECONDS,
                    record=written,
                ),
                lambda: f"spend of ${cost:.6f} and {tokens} tokens for {self._rules.label}",
            )
        return cost

    async def release(self) -> None:
        """Free the reservation and the token estimate without recording spend (failed or
        cancelled requests). The request still counts in the requests windows. Idempotent;
        a no-op after `settle`."""
        if self._done:
            return
        self._done = True
        governor = self._governor
        governor._live.discard(self.entry_id)
        updates = token_updates(self._token_windows, self._estimate, 0)
        if updates or self._reserved_before:
            await governor._quietly(
                governor._store.settle(
                    self.entry_id,
                    [],
                    0.0,
                    now=governor._clock.time(),
                    tokens=updates,
                    window_seconds=WINDOW_SECONDS,
                ),
                lambda: "release of the reservation and token estimate",
            )

    async def __aenter__(self) -> Admission:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.release()
