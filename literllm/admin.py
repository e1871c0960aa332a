"""`proxy.admin`: what an operator asks of a running gateway, master key only."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import msgspec

from .auth import Authenticator
from .errors import BadRequestError, PermissionDeniedError
from .governance.audit import AuditEntry, AuditLog, actor_of
from .governance.keys import (
    KeyChanges,
    KeyInfo,
    KeyRecord,
    KeyStore,
    NewKey,
    Rotation,
    budget_period,
    decode_input,
    describe,
    public_fields,
    runtime_statuses,
)
from .governance.snapshot import GlobalStatus, MasterStatus, ModelSpend
from .governance.spendreport import SpendBreakdown, breakdown, parse_query
from .observability.redact import Redactor, effective_config
from .observability.traffic import WINDOWS, RequestList, Traffic, TrafficReport
from .routing import Router
from .routing.router import DeploymentState
from .services import Services
from .state.sharedtraffic import SharedTraffic

if TYPE_CHECKING:
    from .governance import GovernanceSnapshot
    from .observability.metrics import SpendCap

__all__ = [
    "AdminAPI",
    "AuditList",
    "CreatedKey",
    "DeletedKey",
    "KeyList",
    "KeySpend",
    "ModelsReport",
    "PoolReport",
    "RequestList",
    "SpendReport",
    "TrafficReport",
]


class KeyList(msgspec.Struct, frozen=True, kw_only=True):
    object: str
    data: list[KeyInfo]


class CreatedKey(KeyInfo, frozen=True, kw_only=True):
    """A key with its secret: the answer of create and rotate, the only time it is told."""

    key: str


class AuditList(msgspec.Struct, frozen=True, kw_only=True):
    object: str
    data: list[AuditEntry]


class DeletedKey(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    object: str = "key"
    deleted: bool = True


class KeySpend(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    description: str | None
    spend: float
    remaining_budget: float | None


class SpendReport(msgspec.Struct, frozen=True, kw_only=True):
    global_: GlobalStatus = msgspec.field(name="global")
    master: MasterStatus
    models: dict[str, ModelSpend]
    keys: list[KeySpend]


class PoolReport(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    fallbacks: list[str]
    deployments: list[DeploymentState]


class ModelsReport(msgspec.Struct, frozen=True, kw_only=True):
    strategy: str
    pools: list[PoolReport]


class AdminAPI:
    def __init__(
        self,
        auth: Authenticator,
        services: Services,
        router: Router,
        keys: KeyStore,
        audit: AuditLog,
        *,
        traffic: Traffic | None = None,
        shared_traffic: SharedTraffic | None = None,
        secrets: Callable[[], list[str]] = list,
    ) -> None:
        self._auth = auth
        self._services = services
        self._router = router
        self._keys = keys
        self._audit_log = audit
        self._traffic = traffic if traffic is not None else Traffic(services.clock, 0)
        self._shared_traffic = shared_traffic
        self._secrets = secrets
        self._redactor: Redactor | None = None

    def require_master(self, api_key: str | None) -> None:
        """Admin and metrics calls: the master key only (403 for virtual keys)."""
        if not self._auth.authenticate(api_key).is_master:
            raise PermissionDeniedError(
                "this endpoint needs the master key", code="master_key_required"
            )

    async def keys(self, *, api_key: str | None) -> KeyList:
        """Every key: the config file's (`source: "config"`, read-only), then the runtime
        ones in order of creation. Never a secret."""
        self.require_master(api_key)
        await self._keys.refresh()
        governor = self._services.governor
        snapshot = await governor.snapshot()
        spend, now = await governor.spend_counters(), governor.now()
        data = [
            describe(status, None, budget_period(key, status.id, spend, now), key.team)
            for status, key in zip(snapshot.keys, self._services.config.keys, strict=True)
        ]
        data += await self._runtime_infos(self._keys.records())
        return KeyList(object="list", data=data)

    async def key(self, key_id: str, *, api_key: str | None) -> KeyInfo:
        self.require_master(api_key)
        listed = await self.keys(api_key=api_key)
        for info in listed.data:
            if info.id == key_id and info.source == "config":
                return info
        return await self._info(await self._keys.fetch(key_id))

    async def create_key(self, body: bytes | Any, *, api_key: str | None) -> CreatedKey:
        """A new key; the answer holds its secret (`key`), which is never told again."""
        self.require_master(api_key)
        record, secret = await self._keys.create(decode_input(body, NewKey, "key"))
        await self._audit(api_key, "key.create", record.id, None, record)
        return _with_secret(await self._info(record), secret)

    async def update_key(self, key_id: str, body: bytes | Any, *, api_key: str | None) -> KeyInfo:
        self.require_master(api_key)
        changes = decode_input(body, KeyChanges, "key changes")
        before, after = await self._keys.update(key_id, changes)
        await self._audit(api_key, "key.update", key_id, before, after)
        return await self._info(after)

    async def rotate_key(
        self, key_id: str, body: bytes | Any, *, api_key: str | None
    ) -> CreatedKey:
        """A new secret for the key (same id, limits and spend); the old secret keeps
        working for `grace_period_secs` (default 0: stops at once)."""
        self.require_master(api_key)
        rotation = decode_input(body, Rotation, "rotation")
        before = await self._keys.fetch(key_id)
        record, secret = await self._keys.rotate(key_id, rotation)
        await self._audit(api_key, "key.rotate", key_id, before, record)
        return _with_secret(await self._info(record), secret)

    async def delete_key(self, key_id: str, *, api_key: str | None) -> DeletedKey:
        """Revoke the key: its secrets stop working at once."""
        self.require_master(api_key)
        before = await self._keys.delete(key_id)
        await self._audit(api_key, "key.delete", key_id, before, None)
        return DeletedKey(id=key_id)

    async def audit(
        self,
        *,
        api_key: str | None,
        limit: int = 100,
        action: str | None = None,
        target: str | None = None,
    ) -> AuditList:
        """The audit trail, newest first: every change made through this API."""
        self.require_master(api_key)
        if not 1 <= limit <= 1000:
            raise BadRequestError("limit must be from 1 to 1000", param="limit")
        entries = await self._audit_log.entries(limit=limit, action=action, target=target)
        return AuditList(object="list", data=entries)

    async def _audit(
        self, api_key: str | None, action: str, target: str, before: Any, after: Any
    ) -> None:
        await self._audit_log.record(
            actor=actor_of(api_key or ""),
            action=action,
            target=target,
            before=None if before is None else public_fields(before),
            after=None if after is None else public_fields(after),
        )

    async def _info(self, record: KeyRecord) -> KeyInfo:
        return (await self._runtime_infos([record]))[0]

    async def _runtime_infos(self, records: list[KeyRecord]) -> list[KeyInfo]:
        governor = self._services.governor
        statuses = await governor.key_statuses([record.key_config() for record in records])
        return runtime_statuses(statuses, records, await governor.spend_counters(), governor.now())

    async def spend(
        self,
        *,
        api_key: str | None,
        group_by: str | None = None,
        start: str | None = None,
        end: str | None = None,
        key: str | None = None,
    ) -> SpendReport | SpendBreakdown:
        """Spend: global, per model and per key; or, with `group_by` (`key`, `team`,
        `model`, `end_user`, and/or `period` for UTC days), `start` or `end`
        (inclusive dates), the counters added up that way (`key`: one key's rows)."""
        self.require_master(api_key)
        if group_by is not None or start is not None or end is not None or key is not None:
            groups, first, last = parse_query(group_by, start, end)
            counters = await self._services.governor.spend_counters()
            return breakdown(counters, groups, first, last, key=key)
        snapshot = await self._services.governor.snapshot()
        return SpendReport(
            global_=snapshot.global_,
            master=snapshot.master,
            models=snapshot.models,
            keys=[
                KeySpend(
                    id=k.id,
                    description=k.description,
                    spend=k.spend,
                    remaining_budget=k.remaining_budget,
                )
                for k in snapshot.keys
            ],
        )

    def models(self, *, api_key: str | None) -> ModelsReport:
        self.require_master(api_key)
        resolver = self._services.resolver
        pools = [
            PoolReport(
                name=name,
                fallbacks=resolver.fallbacks(name),
                deployments=[self._router.state_of(d) for d in deployments],
            )
            for name, deployments in resolver.pools.items()
        ]
        return ModelsReport(strategy=self._services.config.routing.strategy, pools=pools)

    async def traffic(self, *, api_key: str | None, window: str | None = None) -> TrafficReport:
        """Traffic over the last hour (`1h`, default: 60 buckets of 60 s) or day (`24h`:
        96 buckets of 900 s), oldest first, with totals. Counts are every process's when
        the state backend is shared; latency percentiles are this process's."""
        self.require_master(api_key)
        window = "1h" if window is None else window
        if window not in WINDOWS:
            raise BadRequestError(
                f"window must be one of {', '.join(WINDOWS)}, not {window[:20]!r}",
                param="window",
                code="invalid_window",
            )
        if self._shared_traffic is not None:
            return await self._shared_traffic.report(window)
        return self._traffic.report(window)

    def requests(
        self,
        *,
        api_key: str | None,
        limit: int = 100,
        status: str | None = None,
        model: str | None = None,
        key: str | None = None,
    ) -> RequestList:
        """The most recent requests this process answered, newest first (no bodies, no
        secrets): `status` `ok` or `error` (status >= 400), one `model`, one `key` (id)."""
        self.require_master(api_key)
        if not 1 <= limit <= 1000:
            raise BadRequestError("limit must be from 1 to 1000", param="limit")
        if status not in (None, "ok", "error"):
            raise BadRequestError("status must be 'ok' or 'error'", param="status")
        found = self._traffic.recent(
            limit=limit,
            status=status,  # type: ignore[arg-type]
            model=model,
            key=key,
        )
        if self._redactor is None:
            self._redactor = Redactor(self._secrets())
        scrub = self._redactor.scrub
        for entry in found.data:  # the client chose these: a secret may be in them
            entry.request_id = scrub(entry.request_id)
            entry.endpoint = scrub(entry.endpoint)
            if entry.model is not None:
                entry.model = scrub(entry.model)
            if entry.deployment is not None:  # a passthrough route is named by the model
                entry.deployment = scrub(entry.deployment)
        return found

    def config(self, *, api_key: str | None) -> dict[str, Any]:
        """The loaded configuration, every default filled in and every secret masked."""
        self.require_master(api_key)
        return effective_config(self._services.config)

    async def metrics(self, *, api_key: str | None) -> tuple[bytes, str]:
        """The Prometheus exposition and its content type."""
        self.require_master(api_key)
        services = self._services
        snapshot = await services.governor.snapshot()
        services.metrics.update_spend(_spend_caps(snapshot))
        if services.cache is not None:
            stats = services.cache.stats
            services.metrics.update_cache_backend(
                errors=stats.errors, skipped=stats.skipped, writes=stats.writes
            )
        return services.metrics.render()


def _with_secret(info: KeyInfo, secret: str) -> CreatedKey:
    return CreatedKey(**msgspec.structs.asdict(info), key=secret)


def _spend_caps(snapshot: GovernanceSnapshot) -> list[SpendCap]:
    from .observability.metrics import SpendCap

    caps = [
        SpendCap(
            scope="global",
            name="global",
            spent=snapshot.global_.spend,
            limit=snapshot.global_.limits.budget_limit,
        )
    ]
    caps += [
        SpendCap(scope="model", name=name, spent=m.spend, limit=m.limit)
        for name, m in snapshot.models.items()
    ]
    caps += [
        SpendCap(
            scope="key", name=k.description or k.id, spent=k.spend, limit=k.limits.budget_limit
        )
        for k in snapshot.keys
    ]
    return caps
