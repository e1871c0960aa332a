"""Virtual keys created at runtime: stored hashed in the state backend, seen by every
process that shares it.

A runtime key is a record in the `keys` table of the `RecordStore` (see
`literllm.state.records`), holding the SHA-256 of its secret, never the secret: the
gateway generates the secret, returns it once, and cannot tell it again. Its id is
`key_id(secret)` of the secret it was created with and stays the same across
rotations, so its rate-limit windows and spend follow it.

Each process keeps every record in memory and hands the authenticator the secrets'
digests. A change made here is applied at once in this process; other processes see it
when they next compare the table's version (`refresh`, every `POLL_SECS` while the
gateway runs), one read of the shared store. Concurrent changes to one key from two
processes: the last write wins.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

import msgspec
from msgspec import UNSET, Meta, UnsetType

from ..auth import Authenticator, Caller, RuntimeKey
from ..clock import Clock
from ..config.schema import KeyConfig
from ..errors import BadRequestError, NotFoundError, PermissionDeniedError
from ..identity import key_id
from ..state import StateUnavailableError
from ..state.records import RecordStore
from .governor import Governor
from .periods import DURATION_PATTERN, parse_duration
from .snapshot import KeyStatus

__all__ = [
    "POLL_SECS",
    "BudgetPeriod",
    "KeyChanges",
    "KeyInfo",
    "KeyRecord",
    "KeyStore",
    "NewKey",
    "OldSecret",
    "Rotation",
    "iso_time",
    "public_fields",
]

_log = logging.getLogger("literllm.governance.keys")

T = TypeVar("T")

POLL_SECS = 0.5
"""How often a process sharing its state compares the keys table's version."""
TABLE = "keys"
_RUNTIME_MARKER = "\x00runtime:"
"""`KeyConfig.key` of a runtime key: never a token anyone can send (a NUL byte)."""

U32 = Annotated[int, Meta(ge=0, le=4_294_967_295)]
U64 = Annotated[int, Meta(ge=0, le=9_223_372_036_854_775_807)]
Money = Annotated[float, Meta(ge=0)]
Text = Annotated[str, Meta(max_length=256)]
Names = Annotated[list[Annotated[str, Meta(max_length=256)]], Meta(max_length=1024)]
AwareTime = Annotated[datetime, Meta(tz=True)]
Duration = Annotated[str, Meta(pattern=DURATION_PATTERN)]
_METADATA_BYTES = 16_384


class OldSecret(msgspec.Struct, frozen=True):
    sha256: str
    valid_until: float


class KeyRecord(msgspec.Struct, frozen=True, kw_only=True):
    """What the state backend holds of a runtime key (no secret)."""

    id: str
    sha256: str
    previous: list[OldSecret] = msgspec.field(default_factory=list)
    description: str | None = None
    models: list[str] = msgspec.field(default_factory=list)
    rpm: int | None = None
    tpm: int | None = None
    budget_limit: float | None = None
    team: str | None = None
    expires_at: float | None = None
    budget_duration: str | None = None
    metadata: dict[str, Any] = msgspec.field(default_factory=dict)
    blocked: bool = False
    created_at: float
    updated_at: float

    def key_config(self) -> KeyConfig:
        return KeyConfig(
            key=_RUNTIME_MARKER + self.id,
            description=self.description,
            models=list(self.models),
            rpm=self.rpm,
            tpm=self.tpm,
            budget_limit=self.budget_limit,
            budget_duration=self.budget_duration,
            team=self.team,
        )


class NewKey(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """`POST /admin/keys`: the fields of `[[keys]]` (without `key`) and the extensions."""

    description: Text | None = None
    models: Names = msgspec.field(default_factory=list)
    rpm: U32 | None = None
    tpm: U64 | None = None
    budget_limit: Money | None = None
    team: Text | None = None
    expires_at: AwareTime | None = None
    budget_duration: Duration | None = None
    metadata: dict[str, Any] = msgspec.field(default_factory=dict)
    blocked: bool = False


class KeyChanges(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """`PATCH /admin/keys/{id}`: absent fields stay, `null` clears a limit."""

    description: Text | UnsetType | None = UNSET
    models: Names | UnsetType = UNSET
    rpm: U32 | UnsetType | None = UNSET
    tpm: U64 | UnsetType | None = UNSET
    budget_limit: Money | UnsetType | None = UNSET
    blocked: bool | UnsetType = UNSET


class Rotation(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """`POST /admin/keys/{id}/rotate`: how long the old secret keeps working."""

    grace_period_secs: Annotated[int, Meta(ge=0, le=30 * 86_400)] = 0


class BudgetPeriod(msgspec.Struct, frozen=True, kw_only=True):
    """The current period of a periodic budget (UTC dates; `end` is exclusive)."""

    duration: str
    start: str
    end: str
    spend: float


def budget_period(
    key: KeyConfig, key_id: str, spend: dict[str, float], now: float
) -> BudgetPeriod | None:
    if key.budget_duration is None:
        return None
    period = parse_duration(key.budget_duration)
    return BudgetPeriod(
        duration=period.text,
        start=period.start(now).isoformat(),
        end=period.end(now).isoformat(),
        spend=spend.get(period.stamp(f"key:{key_id}", now), 0.0),
    )


class KeyInfo(KeyStatus, frozen=True, kw_only=True):
    """A key as the admin API shows it: never its secret."""

    source: str = "config"
    """`config` (read-only, from `[[keys]]`) or `runtime` (made through the admin API)."""
    team: str | None = None
    expires_at: str | None = None
    budget_duration: str | None = None
    budget_period: BudgetPeriod | None = None
    metadata: dict[str, Any] = msgspec.field(default_factory=dict)
    blocked: bool = False
    created_at: str | None = None
    updated_at: str | None = None


def iso_time(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


def describe(
    status: KeyStatus,
    record: KeyRecord | None,
    period: BudgetPeriod | None = None,
    team: str | None = None,
) -> KeyInfo:
    fields = msgspec.structs.asdict(status)
    if record is None:
        duration = period.duration if period else None
        return KeyInfo(**fields, team=team, budget_duration=duration, budget_period=period)
    return KeyInfo(
        **fields,
        budget_period=period,
        source="runtime",
        team=record.team,
        expires_at=iso_time(record.expires_at),
        budget_duration=record.budget_duration,
        metadata=record.metadata,
        blocked=record.blocked,
        created_at=iso_time(record.created_at),
        updated_at=iso_time(record.updated_at),
    )


def decode_input(body: bytes | Any, kind: type[T], what: str) -> T:
    """A request body as `kind`: 400 with the offending field on bad input."""
    try:
        if isinstance(body, (bytes, bytearray, memoryview)):
            return msgspec.json.decode(bytes(body) or b"{}", type=kind)
        return msgspec.convert(body if body is not None else {}, kind)
    except msgspec.ValidationError as error:
        message = str(error)
        param = message.split("at `$.", 1)[1].split("`")[0] if "at `$." in message else None
        raise BadRequestError(f"invalid {what}: {message}", param=param) from None
    except msgspec.DecodeError as error:
        raise BadRequestError(f"invalid {what}: the body is not JSON ({error})") from None


def public_fields(record: KeyRecord) -> dict[str, Any]:
    """A record for the audit trail: no secret hashes, times in ISO 8601."""
    fields = msgspec.structs.asdict(record)
    del fields["sha256"]
    fields["previous_secrets"] = len(fields.pop("previous"))
    for name in ("expires_at", "created_at", "updated_at"):
        fields[name] = iso_time(fields[name])
    return fields


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class KeyStore:
    def __init__(
        self,
        records: RecordStore,
        *,
        auth: Authenticator,
        governor: Governor,
        clock: Clock,
    ) -> None:
        self._store = records
        self._auth = auth
        self._governor = governor
        self._clock = clock
        self._records: dict[str, KeyRecord] = {}
        self._version = -1
        self._unreachable = False

    @property
    def shared(self) -> bool:
        return self._store.shared

    async def start(self) -> None:
        """Connect and load the keys; an unreachable store is logged and retried by
        `refresh` (the configured keys and the master key work meanwhile)."""
        try:
            await self._store.start()
            await self._load()
        except StateUnavailableError as error:
            self._unreachable = True
            _log.warning("runtime keys not loaded (state store unavailable): %s", error)

    async def aclose(self) -> None:
        await self._store.aclose()

    async def refresh(self) -> bool:
        """Reload when another process changed a key; True when something changed."""
        try:
            version = await self._store.version(TABLE)
            changed = version != self._version
            if changed:
                await self._load()
        except StateUnavailableError as error:
            if not self._unreachable:
                self._unreachable = True
                _log.warning("runtime keys kept as last seen (state store unavailable): %s", error)
            return False
        if self._unreachable:
            self._unreachable = False
            _log.info("runtime keys: state store reachable again")
        return changed

    async def poll(self, interval: float = POLL_SECS) -> None:
        """Refresh every `interval` seconds until cancelled."""
        while True:
            await asyncio.sleep(interval)
            await self.refresh()

    async def _load(self) -> None:
        version, raw = await self._store.all(TABLE)
        records: dict[str, KeyRecord] = {}
        for record_id, value in raw.items():
            try:
                records[record_id] = msgspec.json.decode(value, type=KeyRecord)
            except msgspec.MsgspecError:
                _log.error("runtime key %s: unreadable record skipped", record_id)
        self._records = records
        self._version = version
        self._apply()

    def _apply(self) -> None:
        runtime: list[RuntimeKey] = []
        config_ids = self._auth.config_ids()
        for record in self._records.values():
            if record.id in config_ids:
                continue  # a runtime key never shadows a configured one
            config = record.key_config()
            self._governor.name_key(config.key, record.id)
            caller = Caller(
                False,
                config,
                record.id,
                record.description or record.id,
                True,
                self._auth.team_models(record.team),
            )
            runtime.append(
                RuntimeKey(
                    digest=bytes.fromhex(record.sha256),
                    caller=caller,
                    not_after=record.expires_at,
                    blocked=record.blocked,
                )
            )
            for old in record.previous:
                not_after = old.valid_until
                if record.expires_at is not None:
                    not_after = min(not_after, record.expires_at)
                runtime.append(
                    RuntimeKey(
                        digest=bytes.fromhex(old.sha256),
                        caller=caller,
                        not_after=not_after,
                        blocked=record.blocked,
                    )
                )
        self._auth.set_runtime_keys(runtime)

    # -- reading ---------------------------------------------------------------------

    def records(self) -> list[KeyRecord]:
        return sorted(self._records.values(), key=lambda r: (r.created_at, r.id))

    def record(self, record_id: str) -> KeyRecord | None:
        return self._records.get(record_id)

    async def fetch(self, record_id: str) -> KeyRecord:
        """The record as the store has it now (404 when there is none)."""
        if record_id in self._auth.config_ids():
            raise PermissionDeniedError(
                f"key {record_id} comes from the config file and is read-only; change it in "
                "liter-llm-proxy.toml",
                code="read_only_key",
            )
        raw = await self._store.get(TABLE, record_id)
        if raw is None:
            raise NotFoundError(f"no runtime key {record_id!r}", code="key_not_found")
        return msgspec.json.decode(raw, type=KeyRecord)

    # -- changing ----------------------------------------------------------------------

    async def create(self, new: NewKey) -> tuple[KeyRecord, str]:
        """A new key and its secret (the only time the secret is ever told)."""
        now = self._clock.time()
        expires_at = new.expires_at.timestamp() if new.expires_at is not None else None
        if expires_at is not None and expires_at <= now:
            raise BadRequestError("expires_at is in the past", param="expires_at")
        self._check_description(new.description)
        _check_metadata(new.metadata)
        if new.team is not None and new.team not in self._auth.teams():
            defined = ", ".join(sorted(self._auth.teams())) or "none"
            raise BadRequestError(
                f"unknown team {new.team!r}: teams are defined by [[teams]] in the config file "
                f"(defined: {defined})",
                param="team",
            )
        config_ids = self._auth.config_ids()
        for _ in range(8):
            secret = "sk-" + secrets.token_urlsafe(32)
            record = KeyRecord(
                id=key_id(secret),
                sha256=_digest(secret),
                description=new.description,
                models=list(new.models),
                rpm=new.rpm,
                tpm=new.tpm,
                budget_limit=new.budget_limit,
                team=new.team,
                expires_at=expires_at,
                budget_duration=new.budget_duration,
                metadata=new.metadata,
                blocked=new.blocked,
                created_at=now,
                updated_at=now,
            )
            if record.id in config_ids:
                continue
            if await self._store.put(TABLE, record.id, msgspec.json.encode(record), only_new=True):
                await self._load()
                return record, secret
        raise RuntimeError("could not draw an unused key id")  # 2**64 ids: not in practice

    async def update(self, record_id: str, changes: KeyChanges) -> tuple[KeyRecord, KeyRecord]:
        """Apply `changes`; returns the record before and after."""
        before = await self.fetch(record_id)
        fields = {
            name: value
            for name in KeyChanges.__struct_fields__
            if (value := getattr(changes, name)) is not UNSET
        }
        if "description" in fields:
            self._check_description(fields["description"])
        after = msgspec.structs.replace(before, **fields, updated_at=self._clock.time())
        await self._store.put(TABLE, record_id, msgspec.json.encode(after))
        await self._load()
        return before, after

    async def rotate(self, record_id: str, rotation: Rotation) -> tuple[KeyRecord, str]:
        """A new secret for the key; the old one works for `grace_period_secs` more."""
        before = await self.fetch(record_id)
        now = self._clock.time()
        previous = [old for old in before.previous if old.valid_until > now]
        if rotation.grace_period_secs:
            previous.append(OldSecret(before.sha256, now + rotation.grace_period_secs))
        secret = "sk-" + secrets.token_urlsafe(32)
        after = msgspec.structs.replace(
            before, sha256=_digest(secret), previous=previous, updated_at=now
        )
        await self._store.put(TABLE, record_id, msgspec.json.encode(after))
        await self._load()
        return after, secret

    async def delete(self, record_id: str) -> KeyRecord:
        """Revoke the key: every secret of it stops working at once (in this process;
        in the others at their next refresh)."""
        before = await self.fetch(record_id)
        if not await self._store.delete(TABLE, record_id):
            raise NotFoundError(f"no runtime key {record_id!r}", code="key_not_found")
        await self._load()
        return before

    def _check_description(self, description: str | None) -> None:
        if description is None:
            return
        if description in self._auth.labels():
            raise BadRequestError(
                f"description {description!r} is the description of a key in the config "
                "file; logs and metrics would confuse them: choose another",
                param="description",
            )


def _check_metadata(metadata: dict[str, Any]) -> None:
    if len(msgspec.json.encode(metadata)) > _METADATA_BYTES:
        raise BadRequestError(
            f"metadata is larger than {_METADATA_BYTES} bytes of JSON", param="metadata"
        )


def runtime_statuses(
    statuses: Sequence[KeyStatus],
    records: Sequence[KeyRecord],
    spend: dict[str, float],
    now: float,
) -> list[KeyInfo]:
    """Statuses of runtime keys paired with their records, in the records' order."""
    by_id = {status.id: status for status in statuses}
    return [
        describe(
            by_id[record.id],
            record,
            budget_period(record.key_config(), record.id, spend, now),
        )
        for record in records
        if record.id in by_id
    ]
