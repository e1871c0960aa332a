"""The audit trail: every change made through the admin API, kept in the state backend.

An entry says who (the master key, by its key id: never the key), what (`action` and
`target`), the target before and after (without secrets or secret hashes) and when.
Entries live in the record store's `audit` table under time-ordered ids, so every
process sharing the store writes to and reads one trail; the oldest are dropped past
`MAX_ENTRIES`.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import msgspec

from ..clock import Clock
from ..identity import key_id
from ..state import StateUnavailableError
from ..state.records import RecordStore
from .keys import iso_time

__all__ = ["MAX_ENTRIES", "AuditEntry", "AuditLog", "actor_of"]

_log = logging.getLogger("literllm.governance.audit")

MAX_ENTRIES = 10_000
TABLE = "audit"


class AuditEntry(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    at: str
    """ISO 8601, UTC."""
    actor: str
    action: str
    target: str
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


def actor_of(master_key: str) -> str:
    """Who made a change: `master:` and the key id of the master key used."""
    return f"master:{key_id(master_key)}"


class AuditLog:
    def __init__(self, records: RecordStore, clock: Clock) -> None:
        self._records = records
        self._clock = clock

    async def record(
        self,
        *,
        actor: str,
        action: str,
        target: str,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
    ) -> AuditEntry:
        """Append an entry. A store failure is logged (the change itself is done)."""
        now = self._clock.time()
        entry = AuditEntry(
            id=f"{now:020.6f}-{os.urandom(4).hex()}",
            at=iso_time(now) or "",
            actor=actor,
            action=action,
            target=target,
            before=before,
            after=after,
        )
        try:
            await self._records.put(TABLE, entry.id, msgspec.json.encode(entry))
            if await self._records.version(TABLE) % 100 == 0:
                await self._trim()
        except StateUnavailableError as error:
            _log.error("audit entry not recorded (%s %s by %s): %s", action, target, actor, error)
        return entry

    async def _trim(self) -> None:
        _, raw = await self._records.all(TABLE)
        for entry_id in sorted(raw)[: max(len(raw) - MAX_ENTRIES, 0)]:
            await self._records.delete(TABLE, entry_id)

    async def entries(
        self, *, limit: int = 100, action: str | None = None, target: str | None = None
    ) -> list[AuditEntry]:
        """The newest entries first, filtered by `action` and `target`."""
        _, raw = await self._records.all(TABLE)
        found: list[AuditEntry] = []
        for entry_id in sorted(raw, reverse=True):
            entry = msgspec.json.decode(raw[entry_id], type=AuditEntry)
            if (action is None or entry.action == action) and (
                target is None or entry.target == target
            ):
                found.append(entry)
                if len(found) >= limit:
                    break
        return found
