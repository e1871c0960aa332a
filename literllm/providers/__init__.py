"""Provider adapters: sans-I/O translators between OpenAI's format and each provider's."""

from .base import Adapter, ChatResult, EmbeddingResult, StreamDecoder, Target
from .registry import ProviderInfo, ProviderRegistry

__all__ = [
    "Adapter",
    "ChatResult",
    "EmbeddingResult",
    "ProviderInfo",
    "ProviderRegistry",
    "StreamDecoder",
    "Target",
]
