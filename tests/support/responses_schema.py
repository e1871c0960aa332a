"""Validate Responses API payloads against OpenAI's published schemas.

`tests/data/protocols/openai_responses_schemas.json` is the part of OpenAI's OpenAPI
document the Responses API needs (`Response`, `ResponseStreamEvent`,
`ResponseItemList`, `CreateResponse` and everything they reference), copied so the
tests run from a fresh clone.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

EXTRACT = (
    Path(__file__).resolve().parents[1] / "data" / "protocols" / "openai_responses_schemas.json"
)


def _nullable(node: Any) -> Any:
    """3.0's `nullable: true` as a JSON Schema `null` alternative."""
    if isinstance(node, dict):
        node = {k: _nullable(v) for k, v in node.items()}
        if node.pop("nullable", False):
            kind = node.get("type")
            if isinstance(kind, str):
                node["type"] = [kind, "null"]
            else:
                node = {"anyOf": [node, {"type": "null"}]}
        return node
    if isinstance(node, list):
        return [_nullable(v) for v in node]
    return node


@functools.cache
def _registry() -> Registry:
    document = _nullable(json.loads(EXTRACT.read_text(encoding="utf-8")))
    resource = Resource.from_contents(document, default_specification=DRAFT202012)
    return Registry().with_resource("responses.json", resource)


def validate_responses(value: Any, schema_name: str) -> None:
    """Raise `jsonschema.ValidationError` unless `value` matches the named schema."""
    schema = {"$ref": f"responses.json#/components/schemas/{schema_name}"}
    jsonschema.Draft202012Validator(schema, registry=_registry()).validate(value)
