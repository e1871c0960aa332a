"""Webhook alerts (the `[alerts]` extension table).

Events: a budget cap crossing a threshold (`budget_threshold`), a runtime key about to
expire (`key_expiring`), a deployment entering cooldown (`deployment_cooldown`), the
state backend unreachable (`state_unavailable`).

Each event is delivered once per threshold and period across every process sharing
the state backend: before sending, a process *claims* the event's id in the record
store (`alert_claims`, insert-if-absent), and only the process whose claim succeeds
sends it. `state_unavailable` cannot be claimed in the store it reports on: each
process sends it once per outage.

Budgets and expiries are checked every `check_interval_secs` by a background task (a
read of the spend counters), never on a request's path; a cooldown is reported when
the router enters it. Deliveries run as their own tasks: POST of the JSON event to
every URL, signed (`x-literllm-signature: t=<unix time>,v1=<hex HMAC-SHA256 of
"<t>.<body>" with the secret>`), retried with exponential backoff on a failure or a
non-2xx answer, up to `max_attempts`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
from typing import Any

import msgspec

from .clock import Clock
from .config.schema import AlertsConfig, Config
from .governance import Governor
from .governance.keys import KeyStore, iso_time
from .governance.periods import Period, parse_duration
from .identity import key_id
from .state import StateUnavailableError
from .state.records import RecordStore
from .transport import Transport
from .types import UpstreamRequest

__all__ = ["MAX_PENDING", "SIGNATURE_HEADER", "Alerts", "sign"]

_log = logging.getLogger("literllm.alerts")

SIGNATURE_HEADER = "x-literllm-signature"
MAX_PENDING = 1000
"""Deliveries in flight at most; more are dropped (and logged)."""
_BACKOFF_BASE_SECS = 0.5
_BACKOFF_MAX_SECS = 30.0
_CLAIMS = "alert_claims"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value for `body` sent at `timestamp`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


class _Cap(msgspec.Struct, frozen=True):
    scope: str
    name: str
    counter: str
    limit: float
    period: Period | None


class Alerts:
    def __init__(
        self,
        config: Config,
        *,
        transport: Transport,
        records: RecordStore,
        governor: Governor,
        keys: KeyStore,
        clock: Clock,
    ) -> None:
        assert config.alerts is not None
        self._config = config
        self._alerts: AlertsConfig = config.alerts
        self._events = set(self._alerts.events)
        self._transport = transport
        self._records = records
        self._governor = governor
        self._keys = keys
        self._clock = clock
        self._pending: set[asyncio.Task[None]] = set()
        self._unavailable = False

    # -- checks ----------------------------------------------------------------------

    async def run(self) -> None:
        """Check every `check_interval_secs` until cancelled."""
        while True:
            await asyncio.sleep(self._alerts.check_interval_secs)
            await self.check()

    async def check(self) -> None:
        """One round: budget thresholds, expiring keys, the state store."""
        try:
            counters = await self._governor.spend_counters()
        except StateUnavailableError as error:
            if not self._unavailable and "state_unavailable" in self._events:
                self._deliver({"event": "state_unavailable", "error": str(error)})
            self._unavailable = True
            return
        self._unavailable = False
        now = self._clock.time()
        try:
            if "budget" in self._events:
                await self._budgets(counters, now)
            if "key_expiry" in self._events:
                await self._expiries(now)
        except StateUnavailableError as error:  # lost between the two reads
            _log.warning("alerts not checked (state store unavailable): %s", error)

    async def _budgets(self, counters: dict[str, float], now: float) -> None:
        thresholds = sorted(set(self._alerts.thresholds))
        for cap in self._caps():
            counter = cap.counter if cap.period is None else cap.period.stamp(cap.counter, now)
            spent = counters.get(counter, 0.0)
            for threshold in thresholds:
                if cap.limit <= 0 or spent < cap.limit * threshold / 100:
                    break
                event_id = f"budget:{counter}:{threshold}"
                if await self._claim(event_id):
                    period = None
                    if cap.period is not None:
                        period = {
                            "duration": cap.period.text,
                            "start": cap.period.start(now).isoformat(),
                            "end": cap.period.end(now).isoformat(),
                        }
                    self._deliver(
                        {
                            "event": "budget_threshold",
                            "id": event_id,
                            "scope": cap.scope,
                            "name": cap.name,
                            "threshold_percent": threshold,
                            "limit": cap.limit,
                            "spend": spent,
                            "period": period,
                        }
                    )

    def _caps(self) -> list[_Cap]:
        config = self._config
        caps: list[_Cap] = []
        budget = config.budget
        if budget is not None:
            if budget.global_limit is not None:
                caps.append(
                    _Cap(
                        "global",
                        "global",
                        "global",
                        budget.global_limit,
                        _period(budget.budget_duration),
                    )
                )
            for model, limit in budget.model_limits.items():
                caps.append(
                    _Cap(
                        "model",
                        model,
                        f"model:{model}",
                        limit,
                        _period(budget.model_budget_duration),
                    )
                )
        for team in config.teams:
            if team.budget_limit is not None:
                caps.append(
                    _Cap(
                        "team",
                        team.name,
                        f"team:{team.name}",
                        team.budget_limit,
                        _period(team.budget_duration),
                    )
                )
        keys = [(key_id(k.key), k) for k in config.keys]
        keys += [(r.id, r.key_config()) for r in self._keys.records()]
        for name, key in keys:
            if key.budget_limit is not None:
                caps.append(
                    _Cap("key", name, f"key:{name}", key.budget_limit, _period(key.budget_duration))
                )
        return caps

    async def _expiries(self, now: float) -> None:
        horizon = now + self._alerts.key_expiry_warning_secs
        for record in self._keys.records():
            expires = record.expires_at
            if expires is None or not now < expires <= horizon:
                continue
            event_id = f"key_expiry:{record.id}:{expires!r}"
            if await self._claim(event_id):
                self._deliver(
                    {
                        "event": "key_expiring",
                        "id": event_id,
                        "key": record.id,
                        "description": record.description,
                        "expires_at": iso_time(expires),
                    }
                )

    def cooldown(self, deployment: str, model: str, cooldown_secs: float) -> None:
        """The router put `deployment` in cooldown (called on the event loop)."""
        if "cooldown" not in self._events:
            return
        bucket = int(self._clock.time() // max(cooldown_secs, 1.0))
        event_id = f"cooldown:{deployment}:{bucket}"
        self._spawn(self._cooldown(event_id, deployment, model, cooldown_secs))

    async def _cooldown(self, event_id: str, deployment: str, model: str, secs: float) -> None:
        try:
            claimed = await self._claim(event_id)
        except StateUnavailableError:
            claimed = True  # better twice than never
        if claimed:
            self._deliver(
                {
                    "event": "deployment_cooldown",
                    "id": event_id,
                    "deployment": deployment,
                    "model": model,
                    "cooldown_secs": secs,
                }
            )

    async def _claim(self, event_id: str) -> bool:
        return await self._records.put(_CLAIMS, event_id, b"", only_new=True)

    # -- delivery --------------------------------------------------------------------

    def _deliver(self, event: dict[str, Any]) -> None:
        event["at"] = iso_time(self._clock.time())
        body = msgspec.json.encode(event)
        for url in self._alerts.webhook_urls:
            self._spawn(self._send(url, body))

    def _spawn(self, work: Any) -> None:
        if len(self._pending) >= MAX_PENDING:
            work.close()
            _log.error("alert dropped: %d deliveries are already in flight", MAX_PENDING)
            return
        task = asyncio.get_running_loop().create_task(work)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _send(self, url: str, body: bytes) -> None:
        alerts = self._alerts
        for attempt in range(1, alerts.max_attempts + 1):
            timestamp = int(self._clock.time())
            headers = {"content-type": "application/json", "user-agent": "liter-llm-alerts"}
            if alerts.secret:
                headers[SIGNATURE_HEADER] = sign(alerts.secret, timestamp, body)
            problem = ""
            try:
                answer = await self._transport.send(
                    UpstreamRequest("POST", url, headers, body), timeout=alerts.timeout_secs
                )
                if 200 <= answer.status < 300:
                    return
                problem = f"status {answer.status}"
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the receiver is not ours: any failure is retried
                problem = type(error).__name__
            if attempt < alerts.max_attempts:
                delay = min(_BACKOFF_BASE_SECS * 2 ** (attempt - 1), _BACKOFF_MAX_SECS)
                await self._clock.sleep(delay)
            else:
                _log.error("alert not delivered after %d attempts (%s)", attempt, problem)

    async def flush(self) -> None:
        """Wait for every delivery in flight (tests; shutdown)."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    async def aclose(self) -> None:
        for task in list(self._pending):
            task.cancel()
        for task in list(self._pending):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._transport.aclose()


def _period(text: str | None) -> Period | None:
    return None if text is None else parse_duration(text)
