"""The endpoints besides chat and embeddings, one `Operation` each."""

from __future__ import annotations

from ..pricing import Pricing
from ..providers.registry import ProviderRegistry
from .audio import Speech, Transcriptions, Translations
from .base import Operation, OperationResult, PassThrough
from .catalog import Catalog, unsupported
from .completions import Completions
from .images import ImageEdits, ImageGenerations, ImageVariations
from .moderations import Moderations
from .ocr import Ocr
from .rerank import Rerank
from .search import Search
from .uploads import FORM_KEY, form_request

__all__ = [
    "FORM_KEY",
    "Catalog",
    "Completions",
    "Moderations",
    "Operation",
    "OperationResult",
    "Operations",
    "PassThrough",
    "Rerank",
    "form_request",
    "unsupported",
]


class Operations:
    """The operations one `Proxy` serves, built once."""

    def __init__(self, registry: ProviderRegistry, pricing: Pricing) -> None:
        self.catalog = catalog = Catalog(registry)
        self.completions = Completions(catalog, pricing)
        self.moderations = Moderations(catalog, pricing)
        self.rerank = Rerank(catalog, pricing)
        self.image_generations = ImageGenerations(catalog, pricing)
        self.image_edits = ImageEdits(catalog, pricing)
        self.image_variations = ImageVariations(catalog, pricing)
        self.speech = Speech(catalog, pricing)
        self.transcriptions = Transcriptions(catalog, pricing)
        self.translations = Translations(catalog, pricing)
        self.search = Search(catalog, pricing)
        self.ocr = Ocr(catalog, pricing)
