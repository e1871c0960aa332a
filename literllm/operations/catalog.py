"""Which provider serves which endpoint natively.

The registry table (`literllm/data/providers.json`) lists the endpoint kinds each
provider offers (`completion`, `moderation`, `rerank`, `image`, `audio`, `ocr`,
`search`); `EXTRA` adds what providers document but the table does not list yet.
Text completions are special: OpenAI and Azure serve `/completions` only for their
completion models, so other models of theirs go through chat (see `completions`).
"""

from __future__ import annotations

import re
from typing import Final

from ..errors import BadRequestError
from ..providers.registry import ProviderRegistry

__all__ = ["EXTRA", "Catalog", "unsupported"]

EXTRA: Final[dict[str, frozenset[str]]] = {
    # Documented in each provider's API reference; the registry table omits them.
    "together_ai": frozenset({"completion", "image", "rerank"}),
    "fireworks_ai": frozenset({"completion"}),
    "deepinfra": frozenset({"completion"}),
    "xai": frozenset({"image"}),
    "mistral": frozenset({"moderation"}),
    "vllm": frozenset({"completion"}),
    "hosted_vllm": frozenset({"completion"}),
    "text-completion-openai": frozenset({"completion"}),
    "openai_like": frozenset({"completion"}),
    "custom_openai": frozenset({"completion"}),
}

# OpenAI's and Azure's models that /completions serves (others answer 404 there).
_COMPLETION_MODELS = re.compile(r"(instruct|davinci|babbage|^text-|^code-)")
_COMPLETION_BY_MODEL = frozenset({"openai", "azure", "azure_text"})


class Catalog:
    """`serves(provider, kind, model)` for the endpoint kinds above."""

    def __init__(self, registry: ProviderRegistry) -> None:
        self._registry = registry

    def serves(self, provider: str, kind: str, model: str = "") -> bool:
        name = self._registry.canonical(provider)
        if name == "mock":
            return True
        if kind == "completion" and name in _COMPLETION_BY_MODEL:
            return _COMPLETION_MODELS.search(model) is not None
        if kind in EXTRA.get(name, ()):
            return True
        return kind in self._registry.info(name).endpoints

    def providers(self, kind: str) -> list[str]:
        """Every registry provider that serves `kind` (for docs and `check-config`)."""
        return [n for n in self._registry.names() if self.serves(n, kind, "text-davinci")]


def unsupported(provider: str, endpoint: str) -> BadRequestError:
    """400 for an endpoint the deployment's provider does not offer."""
    return BadRequestError(
        f"provider {provider!r} does not offer {endpoint}; route this model to a "
        "provider that does (see docs/providers.md)",
        param="model",
        code="endpoint_not_supported",
    )
