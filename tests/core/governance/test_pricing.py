"""Pricing: each kind of token at its own price, lookups, and the generated table."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import msgspec
import pytest

from literllm.config.schema import Config
from literllm.pricing import ModelPrice, Pricing
from literllm.types import Usage
from tests.support.paths import REPO

DATA = REPO / "tests" / "data" / "pricing"

PRICE = ModelPrice(input=1.0, output=10.0, cache_read=0.1, cache_write=1.25)


def test_each_kind_of_token_is_charged_at_its_own_price() -> None:
    assert PRICE.cost(Usage(prompt_tokens=7)) == 7.0
    assert PRICE.cost(Usage(completion_tokens=3)) == 30.0
    # prompt_tokens includes cache reads and writes; plain input is what is left
    assert PRICE.cost(Usage(prompt_tokens=100, cached_tokens=100)) == pytest.approx(10.0)
    assert PRICE.cost(Usage(prompt_tokens=100, cache_write_tokens=100)) == pytest.approx(125.0)
    mixed = Usage(prompt_tokens=100, completion_tokens=5, cached_tokens=60, cache_write_tokens=30)
    assert PRICE.cost(mixed) == pytest.approx(10 * 1.0 + 5 * 10.0 + 60 * 0.1 + 30 * 1.25)


def test_reasoning_tokens_are_part_of_completion_tokens() -> None:
    usage = Usage(completion_tokens=10, reasoning_tokens=8)
    assert PRICE.cost(usage) == 100.0


def test_missing_cache_prices_fall_back_to_the_input_price() -> None:
    plain = ModelPrice(input=2.0, output=3.0)
    assert plain.cost(Usage(prompt_tokens=10, cached_tokens=4, cache_write_tokens=3)) == 20.0


def test_max_cost_bounds_every_prompt_at_the_dearest_input_price() -> None:
    assert PRICE.max_cost(100, 10) == pytest.approx(100 * 1.25 + 10 * 10.0)
    assert PRICE.max_cost(100, 10) >= PRICE.cost(
        Usage(prompt_tokens=100, completion_tokens=10, cache_write_tokens=100)
    )


def test_embedded_table_lookups() -> None:
    pricing = Pricing.load()
    gpt4o = pricing.price("openai/gpt-4o")
    assert gpt4o is not None and gpt4o.input == pytest.approx(2.5e-6)
    assert gpt4o.cache_read == pytest.approx(1.25e-6)
    assert pricing.max_output_tokens("openai/gpt-4o") == 16384
    sonnet = pricing.price("anthropic/claude-sonnet-4-20250514")
    assert sonnet is not None and sonnet.cache_write == pytest.approx(3.75e-6)
    assert pricing.price("gemini/gemini-2.5-pro") is not None
    assert pricing.price("google/gemini-2.5-pro") == pricing.price("gemini/gemini-2.5-pro")
    assert pricing.price("vertex_ai/gemini-2.5-pro") is not None
    assert pricing.price("bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0") is not None
    assert pricing.price("azure/gpt-4o") is not None  # deployment named after a model
    assert pricing.price("azure/my-team-deployment") is None
    assert pricing.price("mock/anything") == ModelPrice()  # free, not unpriced
    assert pricing.cost("mock/anything", Usage(prompt_tokens=10**6)) == 0.0
    assert pricing.cost("openai/gpt-4o", None) == 0.0
    assert pricing.cost("openai/no-such-model", Usage(prompt_tokens=10)) == 0.0
    cost = pricing.cost("openai/gpt-4o", Usage(prompt_tokens=1000, completion_tokens=100))
    assert cost == pytest.approx(1000 * 2.5e-6 + 100 * 1e-5)


def test_lookups_past_the_remembered_names_still_answer() -> None:
    pricing = Pricing({"openai/a": PRICE}, provider_aliases={})
    names = [f"openai/passthrough-{n}" for n in range(Pricing.MAX_REMEMBERED_NAMES + 10)]
    assert all(pricing.price(name) is None for name in names)
    assert pricing.price("openai/a") is PRICE  # looked up past the bound, not remembered
    assert pricing.price("openai/a") is PRICE
    assert len(pricing._resolved) == Pricing.MAX_REMEMBERED_NAMES


def test_unpriced_lists_config_models_without_a_price() -> None:
    config = msgspec.convert(
        {
            "models": [
                {"name": "a", "provider_model": "openai/gpt-4o"},
                {"name": "b", "provider_model": "azure/prod-east"},
                {"name": "c", "provider_model": "mock/echo"},
            ],
            "budget": {"model_limits": {"openai/made-up": 1.0}},
        },
        Config,
    )
    assert Pricing.load().unpriced(config) == ["azure/prod-east", "openai/made-up"]


def test_the_embedded_table_is_what_the_script_generates(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location(
        "generate_pricing", REPO / "scripts" / "generate_pricing.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    generated = module.build(DATA, REPO)
    embedded = json.loads((REPO / "literllm" / "data" / "pricing.json").read_text("utf-8"))
    assert embedded == generated
    assert "MIT" in embedded["source"]


def test_pricing_spells_every_provider_as_the_registry_does() -> None:
    table = json.loads((REPO / "literllm" / "data" / "providers.json").read_text("utf-8"))
    pricing = Pricing.load()
    for alias, canonical in table["aliases"].items():
        assert pricing.canonical(f"{alias}/m") == f"{canonical}/m"
    assert pricing.canonical("openai/gpt-4o") == "openai/gpt-4o"
