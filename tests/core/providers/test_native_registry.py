from __future__ import annotations

import pytest

from literllm.providers.anthropic import AnthropicAdapter
from literllm.providers.azure import AzureAdapter
from literllm.providers.bedrock import BedrockAdapter
from literllm.providers.cohere import CohereAdapter
from literllm.providers.gemini import GeminiAdapter
from literllm.providers.registry import ProviderRegistry
from literllm.providers.vertex import VertexAdapter


@pytest.mark.parametrize(
    ("name", "kind", "base_url", "env_var"),
    [
        ("anthropic", AnthropicAdapter, "https://api.anthropic.com/v1", "ANTHROPIC_API_KEY"),
        (
            "gemini",
            GeminiAdapter,
            "https://generativelanguage.googleapis.com/v1beta",
            "GEMINI_API_KEY",
        ),
        (
            "google",
            GeminiAdapter,
            "https://generativelanguage.googleapis.com/v1beta",
            "GEMINI_API_KEY",
        ),
        ("vertex_ai", VertexAdapter, None, None),
        ("vertex", VertexAdapter, None, None),
        ("azure", AzureAdapter, None, "AZURE_API_KEY"),
        ("bedrock", BedrockAdapter, None, None),
        ("cohere", CohereAdapter, "https://api.cohere.com/v2", "COHERE_API_KEY"),
    ],
)
def test_registry_picks_the_native_adapter(
    name: str, kind: type, base_url: str | None, env_var: str | None
) -> None:
    registry = ProviderRegistry()
    assert registry.known(name)
    assert isinstance(registry.adapter(name), kind)
    if base_url is not None:
        assert registry.default_base_url(name) == base_url
    assert registry.env_var(name) == (env_var or registry.info(name).env_var)


def test_mock_still_registered() -> None:
    assert ProviderRegistry().adapter("mock").name == "mock"
