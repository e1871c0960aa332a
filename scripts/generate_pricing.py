"""Build `literllm/data/pricing.json`, the embedded price table, from two upstream tables.

Usage: python scripts/generate_pricing.py [--data-dir DIR] [--output PATH]

The inputs are kept, gzip-compressed, in tests/data/pricing/ (the default DIR; each is
read as NAME.json or NAME.json.gz), so the tests can check that the embedded table is
what this script makes. tests/data/README.md says how to refresh them. Sources (see also
docs/governance.md):

- `litellm-model-prices.json`: LiteLLM's `model_prices_and_context_window_backup.json`
  (litellm 1.110.2, MIT licence, Copyright BerriAI). Primary source: its provider names
  are the registry names `provider_model` uses (`gemini`, `vertex_ai`, `bedrock`,
  `azure`, ...) and it carries `max_output_tokens`.
- `pricing-models-dev.json`: models.dev via kreuzberg-dev/liter-llm `schemas/pricing.json`
  (MIT licence, Opencode team). Fills models and fields LiteLLM lacks; its provider
  names are mapped onto registry names, and providers the registry does not know are
  dropped.

Precedence, field by field: LiteLLM first, models.dev second. The output keeps only the
per-token prices the gateway charges (input, output, cache read, cache write) and the
maximum output tokens, as one row `[input, output, cache_read, cache_write,
max_output_tokens]` per key (`null` where unknown). Models priced by another unit (images,
audio seconds, characters, search queries, OCR pages) get a sixth element, an object of
`UNITS` names to USD per unit. Keys are `provider/model` and, for first-party models, the
bare model id (`gpt-4o`); image prices by size and quality keep LiteLLM's key shape
(`openai/hd/1024-x-1792/dall-e-3`).
"""

from __future__ import annotations

import argparse
import gzip
import json
from pathlib import Path
from typing import Any

FIELDS = (
    "input_cost_per_token",
    "output_cost_per_token",
    "cache_read_input_token_cost",
    "cache_creation_input_token_cost",
    "max_output_tokens",
)

# Our unit name: the LiteLLM fields that give its price, first found wins.
UNITS = {
    "image": ("output_cost_per_image", "input_cost_per_image"),
    "pixel": ("input_cost_per_pixel", "output_cost_per_pixel"),
    "second": ("input_cost_per_second",),
    "output_second": ("output_cost_per_second",),
    "character": ("input_cost_per_character",),
    "query": ("input_cost_per_query",),
    "page": ("ocr_cost_per_page",),
    "request": ("input_cost_per_request",),
}

LITELLM_PROVIDER_NAMES = {
    "bedrock_converse": "bedrock",
    "vertex_ai-language-models": "vertex_ai",
    "vertex_ai-anthropic_models": "vertex_ai",
    "vertex_ai-mistral_models": "vertex_ai",
    "vertex_ai-llama_models": "vertex_ai",
    "vertex_ai-ai21_models": "vertex_ai",
    "vertex_ai-deepseek_models": "vertex_ai",
    "vertex_ai-qwen_models": "vertex_ai",
    "vertex_ai-openai_models": "vertex_ai",
    "vertex_ai-minimax_models": "vertex_ai",
    "vertex_ai-moonshot_models": "vertex_ai",
    "vertex_ai-zai_models": "vertex_ai",
    "vertex_ai-chat-models": "vertex_ai",
    "vertex_ai-code-chat-models": "vertex_ai",
    "vertex_ai-text-models": "vertex_ai",
    "vertex_ai-code-text-models": "vertex_ai",
    "vertex_ai-embedding-models": "vertex_ai",
}

MODELS_DEV_PROVIDER_NAMES = {
    "google": "gemini",
    "google-vertex": "vertex_ai",
    "google-vertex-anthropic": "vertex_ai",
    "amazon-bedrock": "bedrock",
    "together": "together_ai",
    "togetherai": "together_ai",
    "fireworks": "fireworks_ai",
    "fireworks-ai": "fireworks_ai",
    "github-copilot": "github_copilot",
    "nvidia": "nvidia_nim",
    "moonshotai": "moonshot",
    "lmstudio": "lmstudio",
}

FIRST_PARTY = {"openai", "anthropic", "gemini", "mistral", "xai", "deepseek", "cohere"}

Row = list[Any]


def _registry_providers(repo: Path) -> set[str]:
    table = json.loads((repo / "literllm" / "data" / "providers.json").read_text("utf-8"))
    return set(table["providers"]) | set(table.get("aliases", {})) | {"mock"}


def _row(entry: dict[str, Any]) -> Row | None:
    row: Row = []
    for name in FIELDS:
        value = entry.get(name)
        row.append(
            value if isinstance(value, int | float) and not isinstance(value, bool) else None
        )
    units = _units(entry)
    if row[0] is None and row[1] is None and not units:
        return None
    if isinstance(row[4], float):
        row[4] = int(row[4])
    if units:
        row.append(units)
    return row


def _units(entry: dict[str, Any]) -> dict[str, float]:
    units: dict[str, float] = {}
    for unit, names in UNITS.items():
        for name in names:
            value = entry.get(name)
            if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
                units[unit] = float(value)
                break
    return units


def _merge(table: dict[str, Row], key: str, row: Row) -> None:
    """Add `row` under `key`; a field already known (from a higher source) wins."""
    current = table.get(key)
    if current is None:
        table[key] = list(row)
        return
    for index, value in enumerate(row[:5]):
        if current[index] is None:
            current[index] = value
    if len(row) > 5:
        if len(current) > 5:
            current[5] = {**row[5], **current[5]}
        else:
            current.append(dict(row[5]))


def _from_litellm(data: dict[str, Any], known: set[str]) -> dict[str, Row]:
    table: dict[str, Row] = {}
    for key, entry in sorted(data.items()):
        if key == "sample_spec" or not isinstance(entry, dict):
            continue
        row = _row(entry)
        if row is None:
            continue
        raw_provider = str(entry.get("litellm_provider") or "")
        provider = LITELLM_PROVIDER_NAMES.get(raw_provider, raw_provider)
        head, slash, _ = key.partition("/")
        if slash and head in known:
            _merge(table, key, row)
            continue
        if provider not in known:
            continue
        _merge(table, f"{provider}/{key}", row)
        if not slash:
            _merge(table, key, row)
    return table


def _from_models_dev(data: dict[str, Any], known: set[str], table: dict[str, Row]) -> None:
    for key, entry in sorted(data["models"].items()):
        provider, slash, model = key.partition("/")
        if not slash:
            continue
        provider = MODELS_DEV_PROVIDER_NAMES.get(provider, provider.replace("-", "_"))
        if provider not in known:
            continue
        row = _row(entry)
        if row is None:
            continue
        _merge(table, f"{provider}/{model}", row)
        if provider in FIRST_PARTY and "/" not in model:
            _merge(table, model, row)


def _read(data_dir: Path, name: str) -> Any:
    plain = data_dir / f"{name}.json"
    if plain.is_file():
        return json.loads(plain.read_bytes())
    return json.loads(gzip.decompress((data_dir / f"{name}.json.gz").read_bytes()))


def build(data_dir: Path, repo: Path) -> dict[str, Any]:
    known = _registry_providers(repo)
    litellm = _read(data_dir, "litellm-model-prices")
    models_dev = _read(data_dir, "pricing-models-dev")
    table = _from_litellm(litellm, known)
    _from_models_dev(models_dev, known, table)
    return {
        "source": (
            "Generated by scripts/generate_pricing.py from LiteLLM 1.110.2 "
            "model_prices_and_context_window_backup.json (MIT, Copyright BerriAI) and "
            "models.dev via kreuzberg-dev/liter-llm schemas/pricing.json (MIT, Opencode "
            "team). USD per token."
        ),
        "fields": [
            "input_cost_per_token",
            "output_cost_per_token",
            "cache_read_input_token_cost",
            "cache_creation_input_token_cost",
            "max_output_tokens",
        ],
        "models": dict(sorted(table.items())),
    }


def main() -> None:
    repo = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=repo / "tests" / "data" / "pricing",
    )
    parser.add_argument("--output", type=Path, default=repo / "literllm/data/pricing.json")
    args = parser.parse_args()
    document = build(args.data_dir, repo)
    lines = [
        "{",
        f' "source": {json.dumps(document["source"])},',
        f' "fields": {json.dumps(document["fields"])},',
        ' "models": {',
    ]
    rows = [
        f"  {json.dumps(key)}: {json.dumps(row, separators=(',', ':'))}"
        for key, row in document["models"].items()
    ]
    lines.append(",\n".join(rows))
    lines += [" }", "}", ""]
    args.output.write_text("\n".join(lines), "utf-8")
    print(f"wrote {len(rows)} prices to {args.output}")


if __name__ == "__main__":
    main()
