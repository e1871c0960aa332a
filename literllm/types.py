"""Values every layer shares: token usage as the gateway accounts it, and one upstream
request and answer as the provider adapters build and read them."""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

__all__ = ["UpstreamRequest", "UpstreamResponse", "Usage"]


class Usage(msgspec.Struct, kw_only=True):
    """Token counts of one answer, in OpenAI's terms, with prompt-cache tokens apart."""

    prompt_tokens: int = 0
    """All input tokens, including cached reads and cache writes."""
    completion_tokens: int = 0
    total_tokens: int = 0
    cached_tokens: int = 0
    """Prompt tokens read from the provider's prompt cache."""
    cache_write_tokens: int = 0
    """Prompt tokens written to the provider's prompt cache."""
    reasoning_tokens: int = 0


class UpstreamRequest(msgspec.Struct, frozen=True):
    """One request to a provider: what an adapter builds and a transport sends."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes = b""


class UpstreamResponse(msgspec.Struct):
    """A provider's complete answer, any status."""

    status: int
    headers: Mapping[str, str]
    body: bytes
