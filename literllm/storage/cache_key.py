"""The response-cache key: what makes two requests "the same request".

The key is the SHA-256 hex digest of a canonical JSON document holding:

- a format version (bump it to invalidate every stored entry),
- the operation (`chat`, `embeddings`, ...),
- the client-facing model name (the alias the client asked for, not the deployment),
- the caller: a stable identity of the calling key (a hash, never the raw token), so
  one tenant never receives an answer cached for another,
- the request body with the fields that do not change the answer left out
  (`IGNORED_BODY_FIELDS`), serialised with sorted keys at every depth so the order
  in which a client wrote its JSON does not matter.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

__all__ = ["IGNORED_BODY_FIELDS", "KEY_FORMAT_VERSION", "response_cache_key"]

KEY_FORMAT_VERSION = 1

IGNORED_BODY_FIELDS: frozenset[str] = frozenset(
    {
        # How the answer is delivered, not what it is.
        "stream",
        "stream_options",
        # Bookkeeping at the provider that does not change the generated content.
        "user",
        "metadata",
        "store",
    }
)
"""Top-level body fields left out of the key (documented in docs/cache.md)."""


def response_cache_key(*, endpoint: str, model: str, body: Mapping[str, Any], caller: str) -> str:
    """Return the SHA-256 hex key for a request; equal requests give equal keys."""
    document = {
        "v": KEY_FORMAT_VERSION,
        "endpoint": endpoint,
        "model": model,
        "caller": caller,
        "body": {name: value for name, value in body.items() if name not in IGNORED_BODY_FIELDS},
    }
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
