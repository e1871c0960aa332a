"""Prices by unit: images by size and quality, audio seconds, characters, queries, pages."""

from __future__ import annotations

import pytest

from literllm.pricing import ModelPrice, Pricing


def test_image_price_prefers_the_most_specific_entry() -> None:
    pricing = Pricing(
        {
            "openai/gpt-image-1": ModelPrice(input=5e-6, units={"image": 0.5}),
            "openai/low/1024-x-1024/gpt-image-1": ModelPrice(units={"image": 0.011}),
            "azure/hd/1024-x-1792/dall-e-3": ModelPrice(units={"pixel": 1e-7}),
        }
    )
    assert pricing.image_price("openai/gpt-image-1", "1024x1024", "low") == 0.011
    assert pricing.image_price("openai/gpt-image-1", "1536x1024", "high") == 0.5
    assert pricing.image_price("azure/dall-e-3", "1024x1792", "hd") == pytest.approx(
        1e-7 * 1024 * 1792
    )
    assert pricing.image_price("azure/dall-e-3", None, None) is None


def test_embedded_table_has_unit_prices() -> None:
    pricing = Pricing.load()
    assert pricing.unit_price("openai/whisper-1", "second") == pytest.approx(0.0001)
    assert pricing.unit_price("openai/tts-1", "character") == pytest.approx(1.5e-5)
    assert pricing.unit_price("mistral/mistral-ocr-latest", "page") == pytest.approx(0.004)
    assert pricing.unit_price("tavily/search", "query") == pytest.approx(0.008)
    assert pricing.image_price("openai/gpt-image-1", "1024x1024", "low") == pytest.approx(0.011)
    # token prices are unchanged by the extra column
    assert pricing.price("openai/gpt-4o") is not None
    assert pricing.price("openai/gpt-4o").units is None  # type: ignore[union-attr]
