"""The one id a virtual key is known by in state, stored files, logs and the admin API."""

from __future__ import annotations

import hashlib

__all__ = ["MASTER_KEY_ID", "key_id"]

MASTER_KEY_ID = "master"


def key_id(token: str) -> str:
    """`k-` and the first 16 hex digits of the token's SHA-256: stable across processes
    and restarts, and reveals nothing usable about the token."""
    return "k-" + hashlib.sha256(token.encode()).hexdigest()[:16]
