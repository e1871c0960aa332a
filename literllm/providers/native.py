"""Providers that speak their own wire format, by registry name.

Each factory returns a fresh sans-I/O adapter; modules are imported when a `Proxy`
is built, not when `literllm` is imported.
"""

from __future__ import annotations

from collections.abc import Callable

from .base import Adapter

__all__ = ["native_adapters"]


def native_adapters() -> dict[str, Callable[[], Adapter]]:
    from .anthropic import AnthropicAdapter
    from .azure import AzureAdapter
    from .bedrock import BedrockAdapter
    from .cohere import CohereAdapter
    from .gemini import GeminiAdapter
    from .mock import MockAdapter
    from .vertex import VertexAdapter

    return {
        "mock": MockAdapter,
        "anthropic": AnthropicAdapter,
        "gemini": GeminiAdapter,
        "vertex_ai": VertexAdapter,
        "vertex": VertexAdapter,
        "azure": AzureAdapter,
        "bedrock": BedrockAdapter,
        "cohere": CohereAdapter,
    }
