"""End users: the OpenAI `user` field (or Anthropic's `metadata.user_id`) attributes a
request's spend to the person behind a key.

Each key tracks at most `MAX_END_USERS_PER_KEY` distinct end users, counted in the
shared record store so the bound holds across processes and restarts; the spend of any
further end user is counted under `OTHER`. Each process remembers the end users it
has seen admitted, so the store is asked once per new end user and process.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from ..state import StateUnavailableError
from ..state.records import RecordStore

__all__ = ["MAX_END_USERS_PER_KEY", "MAX_END_USER_CHARS", "OTHER", "EndUsers", "end_user_of"]

_log = logging.getLogger("literllm.governance.endusers")

MAX_END_USERS_PER_KEY = 1000
MAX_END_USER_CHARS = 256
OTHER = "(other)"
"""Where the spend of end users past the bound goes."""


def end_user_of(body: Mapping[str, Any]) -> str | None:
    """The end user a request names: `user` (or Responses' `safety_identifier`), else
    `metadata.user_id`; None for none, an
    empty or non-string value. Longer names are cut to `MAX_END_USER_CHARS`."""
    user = body.get("user") or body.get("safety_identifier")  # the latter: Responses
    if not isinstance(user, str) or not user:
        metadata = body.get("metadata")
        user = metadata.get("user_id") if isinstance(metadata, dict) else None
    if not isinstance(user, str) or not user.strip():
        return None
    return user.strip()[:MAX_END_USER_CHARS]


class EndUsers:
    def __init__(self, records: RecordStore, limit: int = MAX_END_USERS_PER_KEY) -> None:
        self._records = records
        self._limit = limit
        self._admitted: dict[str, set[str]] = {}
        """key id -> end users known to be tracked (at most `limit` each)"""

    async def counter(self, key_id: str, user: str) -> str:
        """The spend counter of `user` under `key_id`: its own, or the key's `OTHER`."""
        seen = self._admitted.setdefault(key_id, set())
        if user in seen:
            return f"user:{key_id}:{user}"
        try:
            tracked = await self._records.add_bounded(f"endusers:{key_id}", user, self._limit)
        except StateUnavailableError as error:
            _log.warning("end user not tracked (state store unavailable): %s", error)
            tracked = False
        if not tracked:
            return f"user:{key_id}:{OTHER}"
        if len(seen) < self._limit:
            seen.add(user)
        return f"user:{key_id}:{user}"
