"""Values every layer shares: token usage as the gateway accounts it."""

from __future__ import annotations

import msgspec

__all__ = ["Usage"]


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
