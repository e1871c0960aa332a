"""docs/providers.md's provider x endpoint table is the catalog's."""

from __future__ import annotations

from literllm.operations.catalog import Catalog
from literllm.providers import ProviderRegistry
from tests.support.paths import REPO


def test_the_docs_table_is_the_catalog() -> None:
    text = (REPO / "docs" / "providers.md").read_text("utf-8")
    documented = text.split("<!-- endpoint-table:start -->\n", 1)[1].split(
        "<!-- endpoint-table:end -->", 1
    )[0]
    assert documented == Catalog(ProviderRegistry()).table()


def test_providers_without_chat_get_no_text_completions() -> None:
    catalog = Catalog(ProviderRegistry())
    assert not catalog.chats("jina_ai")
    assert catalog.chats("anthropic") and catalog.chats("groq")
    assert catalog.serves("openai", "completion", "gpt-3.5-turbo-instruct")
    assert not catalog.serves("openai", "completion", "gpt-4o")
    assert not catalog.serves("anthropic", "rerank")
    assert catalog.serves("mock", "ocr")
