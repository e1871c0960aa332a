"""The endpoints besides chat and embeddings, one `Operation` each."""

from __future__ import annotations

from ..pricing import Pricing
from ..providers.registry import ProviderRegistry
from .base import Operation, OperationResult, PassThrough
from .catalog import Catalog, unsupported
from .completions import Completions
from .moderations import Moderations
from .rerank import Rerank

__all__ = [
    "Catalog",
    "Completions",
    "Moderations",
    "Operation",
    "OperationResult",
    "Operations",
    "PassThrough",
    "Rerank",
    "unsupported",
]


class Operations:
    """The operations one `Proxy` serves, built once."""

    def __init__(self, registry: ProviderRegistry, pricing: Pricing) -> None:
        self.catalog = catalog = Catalog(registry)
        self.completions = Completions(catalog, pricing)
        self.moderations = Moderations(catalog, pricing)
        self.rerank = Rerank(catalog, pricing)
