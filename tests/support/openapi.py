"""Validate our JSON against OpenAI's published OpenAPI schemas (the extract in
tests/data/openai-openapi-schemas.json; tests/data/README.md says how to refresh it)."""

from __future__ import annotations

import functools
import json
from typing import Any

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.support.paths import REPO

SPEC = REPO / "tests" / "data" / "openai-openapi-schemas.json"


def _nullable(node: Any) -> Any:
    """OpenAI's 3.1 document still marks optional values with 3.0's `nullable: true`,
    which JSON Schema ignores; turn it into a `null` alternative."""
    if isinstance(node, dict):
        node = {k: _nullable(v) for k, v in node.items()}
        if node.pop("nullable", False):
            if isinstance(node.get("enum"), list) and None not in node["enum"]:
                node["enum"] = [*node["enum"], None]
            kind = node.get("type")
            if isinstance(kind, str):
                node["type"] = [kind, "null"]
            elif isinstance(kind, list) and "null" not in kind:
                node["type"] = [*kind, "null"]
            elif kind is None:
                node = {"anyOf": [node, {"type": "null"}]}
        return node
    if isinstance(node, list):
        return [_nullable(v) for v in node]
    return node


@functools.cache
def _registry() -> tuple[Registry, dict[str, Any]]:
    document = _nullable(json.loads(SPEC.read_text(encoding="utf-8")))
    resource = Resource.from_contents(document, default_specification=DRAFT202012)
    return Registry().with_resource("openai.json", resource), document


def validate(value: Any, schema_name: str) -> None:
    """Raise `jsonschema.ValidationError` unless `value` matches OpenAI's schema."""
    registry, _ = _registry()
    schema = {"$ref": f"openai.json#/components/schemas/{schema_name}"}
    validator = jsonschema.Draft202012Validator(schema, registry=registry)
    validator.validate(value)
