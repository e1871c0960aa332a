"""Which provider serves which endpoint, and how.

The registry table (`literllm/data/providers.json`) says which endpoint kinds a provider
has at all, but many have them in their own format (Deepgram's audio, Tavily's search).
`SERVED` lists, per kind, the providers whose API at that path the gateway speaks: the
OpenAI wire format (OpenAI, Azure and the compatible family, from each provider's API
reference), plus the shapes the operations translate themselves (Cohere and Voyage
rerank, Perplexity, Tavily and Brave search, Mistral OCR). The `mock` provider serves everything.

Text completions are special: every chat provider serves them through chat; OpenAI and
Azure serve `/completions` natively only for their completion models.
"""

from __future__ import annotations

import re
from typing import Final

from ..errors import BadRequestError
from ..providers.registry import ProviderRegistry

__all__ = ["ENDPOINTS", "SERVED", "Catalog", "unsupported"]

SERVED: Final[dict[str, frozenset[str]]] = {
    "completion": frozenset(
        {
            "openai",
            "azure",
            "text-completion-openai",
            "together_ai",
            "fireworks_ai",
            "deepinfra",
            "vllm",
            "hosted_vllm",
            "llamacpp",
            "lmstudio",
            "localai",
            "openai_like",
            "custom_openai",
        }
    ),
    "moderation": frozenset(
        {"openai", "azure", "text-completion-openai", "custom_openai", "mistral"}
    ),
    "rerank": frozenset(
        {"cohere", "jina_ai", "voyage", "together_ai", "vllm", "hosted_vllm", "llamacpp", "localai"}
    ),
    "image": frozenset({"openai", "azure", "xai", "together_ai", "aiml", "localai"}),
    "audio": frozenset({"openai", "azure", "groq", "localai", "custom_openai"}),
    "ocr": frozenset({"mistral"}),
    "search": frozenset({"perplexity", "tavily", "brave"}),
}
"""Per endpoint kind, the providers whose API the gateway speaks for it."""

ENDPOINTS: Final = {
    "completion": "/v1/completions",
    "moderation": "/v1/moderations",
    "rerank": "/v1/rerank",
    "image": "/v1/images/*",
    "audio": "/v1/audio/*",
    "ocr": "/v1/ocr",
    "search": "/v1/search",
}

# OpenAI's and Azure's models that /completions serves (others answer 404 there).
_COMPLETION_MODELS = re.compile(r"(instruct|davinci|babbage|^text-|^code-)")
_COMPLETION_BY_MODEL = frozenset({"openai", "azure"})


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
        return name in SERVED.get(kind, ())

    def chats(self, provider: str) -> bool:
        """Whether the provider has chat completions (so text completions through chat)."""
        name = self._registry.canonical(provider)
        info = self._registry.info(name)
        return name == "mock" or "chat" in info.endpoints or not info.endpoints

    def table(self) -> str:
        """The provider x endpoint table of docs/providers.md, in Markdown."""
        kinds = list(ENDPOINTS)
        lines = [
            "| provider | " + " | ".join(f"`{ENDPOINTS[k]}`" for k in kinds) + " |",
            "|---|" + "---|" * len(kinds),
        ]
        names = sorted({n for k in kinds for n in SERVED[k]} | {"mock"})
        for name in names:
            cells = []
            for kind in kinds:
                if kind == "completion" and name in _COMPLETION_BY_MODEL:
                    cells.append("native (completion models), else chat")
                elif self.serves(name, kind, "text-davinci"):
                    cells.append("native")
                elif kind == "completion" and self.chats(name):
                    cells.append("chat")
                else:
                    cells.append("400")
            lines.append(f"| `{name}` | " + " | ".join(cells) + " |")
        lines.append(
            "| every other chat provider | chat | " + " | ".join("400" for _ in kinds[1:]) + " |"
        )
        return "\n".join(lines) + "\n"


def unsupported(provider: str, endpoint: str) -> BadRequestError:
    """400 for an endpoint the deployment's provider does not offer."""
    return BadRequestError(
        f"provider {provider!r} does not offer {endpoint}; route this model to a "
        "provider that does (see docs/providers.md)",
        param="model",
        code="endpoint_not_supported",
    )
