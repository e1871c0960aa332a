"""Regenerate literllm/data/providers.json from ../shared/data/providers.json.

Source: the provider registry of the Rust liter-llm project (MIT, Copyright 2026
Kreuzberg, Inc.); see docs/providers.md. Only the facts the gateway uses are kept:
name, default base URL, auth style, credential environment variable, endpoints and
parameter renames.

    python scripts/generate_providers.py [SOURCE] [DEST]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = ROOT.parent / "shared" / "data" / "providers.json"
DEFAULT_DEST = ROOT / "literllm" / "data" / "providers.json"

# Short names users reach for, mapped to the registry's names.
ALIASES = {"together": "together_ai", "fireworks": "fireworks_ai", "google": "gemini"}


def build(source: Path) -> dict[str, object]:
    registry = json.loads(source.read_text(encoding="utf-8"))
    providers: dict[str, dict[str, object]] = {}
    for entry in registry["providers"]:
        auth = entry.get("auth") or {}
        item: dict[str, object] = {
            "base_url": entry.get("base_url"),
            "auth": auth.get("type"),
            "env_var": auth.get("env_var"),
            "endpoints": sorted(entry.get("endpoints", [])),
        }
        if entry.get("param_mappings"):
            item["param_mappings"] = entry["param_mappings"]
        providers[entry["name"]] = item
    return {
        "source": "liter-llm schemas/providers.json (MIT, Copyright 2026 Kreuzberg, Inc.)",
        "aliases": ALIASES,
        "providers": dict(sorted(providers.items())),
    }


def main(argv: list[str]) -> int:
    source = Path(argv[1]) if len(argv) > 1 else DEFAULT_SOURCE
    dest = Path(argv[2]) if len(argv) > 2 else DEFAULT_DEST
    dest.write_text(json.dumps(build(source), indent=1, sort_keys=False) + "\n", encoding="utf-8")
    print(f"wrote {dest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
