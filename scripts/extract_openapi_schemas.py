"""Write `tests/data/openai-openapi-schemas.json`: the part of OpenAI's OpenAPI document
that the tests validate our responses against.

Usage: python scripts/extract_openapi_schemas.py SPEC [--output PATH] [--root NAME ...]

SPEC is OpenAI's published OpenAPI document (`openapi.json` of
https://github.com/openai/openai-openapi, MIT licence). The output keeps the document's
`info` and, under `components.schemas`, the root schemas below plus every schema they
reference, so `#/components/schemas/...` references resolve exactly as in the full
document. To validate against a further schema, add it to ROOTS (or pass --root) and
rerun the script.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

ROOTS = (
    "Batch",
    "CreateChatCompletionResponse",
    "CreateChatCompletionStreamResponse",
    "CreateCompletionResponse",
    "CreateEmbeddingResponse",
    "CreateModerationResponse",
    "CreateTranscriptionResponseJson",
    "CreateTranscriptionResponseVerboseJson",
    "CreateTranslationResponseJson",
    "DeleteFileResponse",
    "Error",
    "ErrorResponse",
    "ImagesResponse",
    "ListFilesResponse",
    "ListModelsResponse",
    "Model",
    "OpenAIFile",
    "Response",
    "ResponseItemList",
    "ResponseStreamEvent",
)
PREFIX = "#/components/schemas/"
REPO = Path(__file__).resolve().parents[1]


def _references(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(PREFIX):
            found.add(ref[len(PREFIX) :])
        for value in node.values():
            found |= _references(value)
    elif isinstance(node, list):
        for value in node:
            found |= _references(value)
    return found


def extract(document: dict[str, Any], roots: tuple[str, ...] = ROOTS) -> dict[str, Any]:
    """The roots and their transitive references, in the document's shape."""
    schemas: dict[str, Any] = document["components"]["schemas"]
    kept: dict[str, Any] = {}
    pending = list(roots)
    while pending:
        name = pending.pop()
        if name in kept:
            continue
        kept[name] = schemas[name]
        pending.extend(sorted(_references(schemas[name]) - kept.keys()))
    return {
        "openapi": document["openapi"],
        "info": document["info"],
        "components": {"schemas": dict(sorted(kept.items()))},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", type=Path, help="OpenAI's openapi.json")
    parser.add_argument(
        "--output", type=Path, default=REPO / "tests" / "data" / "openai-openapi-schemas.json"
    )
    parser.add_argument("--root", action="append", default=[], help="a further root schema")
    args = parser.parse_args()
    document = json.loads(args.spec.read_text("utf-8"))
    trimmed = extract(document, (*ROOTS, *args.root))
    args.output.write_text(json.dumps(trimmed, indent=1, sort_keys=False) + "\n", "utf-8")
    print(f"{len(trimmed['components']['schemas'])} schemas -> {args.output}")


if __name__ == "__main__":
    main()
