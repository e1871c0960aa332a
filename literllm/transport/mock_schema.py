"""A small valid instance of a JSON Schema, for the mock provider's tool calls and
structured output.

Deterministic and minimal: required properties only (plus enough optional ones for
`minProperties`), the fewest array items allowed, the number nearest zero inside the
bounds, the shortest string of the right length, the first `enum` value, the first
branch of `anyOf` that is not null. It understands what pydantic and OpenAI's strict
mode emit: `type` (or a list of types), `required`, `enum`, `const`, nested objects and
arrays (`items`, `prefixItems`), `anyOf` / `oneOf` / `allOf`, local `$ref` into
`$defs` or `definitions`, string `format`s, and the min/max/multipleOf constraints.
`pattern` is honoured only when one of a few plain strings happens to match it.

The schema comes from the client, so sizes are capped (items, properties, string
length, nesting, and the number of values built in all) and nothing it holds raises.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["instance"]

_MAX_DEPTH = 32
_MAX_COUNT = 64  # items of an array, properties of an object
_MAX_LENGTH = 4096  # characters of a string
_MAX_NODES = 4096  # values built for one instance

_FORMATS: dict[str, str] = {
    "date-time": "2024-01-01T00:00:00Z",
    "date": "2024-01-01",
    "time": "00:00:00Z",
    "duration": "P1D",
    "email": "user@example.com",
    "idn-email": "user@example.com",
    "hostname": "example.com",
    "idn-hostname": "example.com",
    "ipv4": "127.0.0.1",
    "ipv6": "::1",
    "uri": "https://example.com/",
    "iri": "https://example.com/",
    "uri-reference": "https://example.com/",
    "iri-reference": "https://example.com/",
    "url": "https://example.com/",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "json-pointer": "",
    "relative-json-pointer": "0",
    "regex": ".*",
    "uri-template": "https://example.com/",
}

_PATTERN_CANDIDATES = ("", "a", "0", "example", "A", "a0", "user@example.com", "2024-01-01")


def instance(schema: Any) -> Any:
    """A value that `schema` (a JSON Schema as a dict, or a boolean) accepts, when the
    schema is one this module understands and within its caps; else a best effort."""
    try:
        return _Generator(schema if isinstance(schema, Mapping) else {}).build(schema, 0, 0)
    except (ArithmeticError, LookupError, ValueError, TypeError, AttributeError, RecursionError):
        return None  # a schema no value satisfies, or one too odd to follow


def _int(schema: Mapping[str, Any], key: str, default: int, cap: int) -> int:
    value = schema.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        return max(0, min(value, cap))
    return default


class _Generator:
    def __init__(self, root: Mapping[str, Any]) -> None:
        self._root = root
        self._nodes = 0

    def build(self, schema: Any, seed: int, depth: int) -> Any:
        self._nodes += 1
        if not isinstance(schema, Mapping) or depth > _MAX_DEPTH or self._nodes > _MAX_NODES:
            return None
        schema = self._resolve(schema, depth)
        if "const" in schema:
            return schema["const"]
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            values = schema["enum"]
            return values[seed % len(values)]
        if isinstance(schema.get("allOf"), list):
            schema = self._merge(schema, depth)
        for key in ("anyOf", "oneOf"):
            branches = schema.get(key)
            if isinstance(branches, list) and branches:
                rest = {k: v for k, v in schema.items() if k != key}
                return self._branch(rest, branches, key == "oneOf", seed, depth)
        kind = _kind(schema)
        if kind == "null":
            return None
        if kind == "boolean":
            return bool(seed % 2)
        if kind in ("integer", "number"):
            return _number(schema, kind == "integer", seed)
        if kind == "string":
            return _string(schema, seed)
        if kind == "array":
            return self._array(schema, seed, depth)
        if kind == "object":
            return self._object(schema, seed, depth)
        return None

    def _resolve(self, schema: Mapping[str, Any], depth: int) -> Mapping[str, Any]:
        ref = schema.get("$ref")
        if not isinstance(ref, str):
            return schema
        if depth > _MAX_DEPTH:
            return {}
        target: Any = self._root
        if ref != "#":
            if not ref.startswith("#/"):
                return {k: v for k, v in schema.items() if k != "$ref"}
            for part in ref[2:].split("/"):
                part = part.replace("~1", "/").replace("~0", "~")
                target = target.get(part) if isinstance(target, Mapping) else None
        if not isinstance(target, Mapping):
            return {k: v for k, v in schema.items() if k != "$ref"}
        # Siblings of $ref (pydantic puts descriptions and defaults there) narrow it.
        merged = {**self._resolve(target, depth + 1), **schema}
        merged.pop("$ref", None)
        return merged

    def _merge(self, schema: Mapping[str, Any], depth: int) -> dict[str, Any]:
        merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
        for part in schema["allOf"]:
            if not isinstance(part, Mapping):
                continue
            part = self._resolve(part, depth + 1)
            if isinstance(part.get("allOf"), list):
                part = self._merge(part, depth + 1)
            for key, value in part.items():
                if key == "properties" and isinstance(value, Mapping):
                    merged["properties"] = {**merged.get("properties", {}), **value}
                elif key == "required" and isinstance(value, list):
                    merged["required"] = [*merged.get("required", []), *value]
                elif key in ("minimum", "exclusiveMinimum", "minLength", "minItems"):
                    merged[key] = max(value, merged.get(key, value))
                elif key in ("maximum", "exclusiveMaximum", "maxLength", "maxItems"):
                    merged[key] = min(value, merged.get(key, value))
                else:
                    merged.setdefault(key, value)
        return merged

    def _branch(
        self,
        rest: Mapping[str, Any],
        branches: list[Any],
        exclusive: bool,
        seed: int,
        depth: int,
    ) -> Any:
        options = [
            {**rest, **self._resolve(b, depth + 1)} if isinstance(b, Mapping) else {}
            for b in branches
        ]
        # A value is more useful than null: try the non-null branches first.
        order = sorted(range(len(options)), key=lambda i: _kind(options[i]) == "null")
        candidates = [self.build(options[i], seed, depth + 1) for i in order]
        if exclusive:
            for index, value in zip(order, candidates, strict=True):
                others = (options[j] for j in range(len(options)) if j != index)
                if not any(self._may_accept(other, value, depth) for other in others):
                    return value
        return candidates[0]

    def _may_accept(self, schema: Mapping[str, Any], value: Any, depth: int) -> bool:
        """False only when `schema` certainly rejects `value` (type, const, enum or a
        required property's const / type tells): enough to keep `oneOf` exclusive."""
        if depth > _MAX_DEPTH:
            return True
        schema = self._resolve(schema, depth)
        if "const" in schema and schema["const"] != value:
            return False
        if isinstance(schema.get("enum"), list) and value not in schema["enum"]:
            return False
        types = schema.get("type")
        if types is not None:
            allowed = types if isinstance(types, list) else [types]
            if not any(_is_type(value, t) for t in allowed):
                return False
        if isinstance(value, dict):
            required = schema.get("required") or []
            if any(name not in value for name in required):
                return False
            properties = schema.get("properties") or {}
            for name, sub in properties.items():
                if (
                    name in value
                    and isinstance(sub, Mapping)
                    and not self._may_accept(sub, value[name], depth + 1)
                ):
                    return False
            if schema.get("additionalProperties") is False and any(
                name not in properties for name in value
            ):
                return False
        return True

    def _array(self, schema: Mapping[str, Any], seed: int, depth: int) -> list[Any]:
        prefix = schema.get("prefixItems")
        prefix = prefix if isinstance(prefix, list) else []
        items = schema.get("items")
        count = max(_int(schema, "minItems", 0, _MAX_COUNT), min(len(prefix), _MAX_COUNT))
        if items is False:
            count = min(len(prefix), _MAX_COUNT)
        count = min(count, _int(schema, "maxItems", count, _MAX_COUNT))
        values = []
        for index in range(count):
            sub = prefix[index] if index < len(prefix) else items
            values.append(self.build(sub if isinstance(sub, Mapping) else {}, seed + index, depth))
        contains = schema.get("contains")
        if isinstance(contains, Mapping) and not values:
            values.append(self.build(contains, seed, depth + 1))
        return values

    def _object(self, schema: Mapping[str, Any], seed: int, depth: int) -> dict[str, Any]:
        properties = schema.get("properties")
        properties = properties if isinstance(properties, Mapping) else {}
        required = schema.get("required")
        names = [n for n in required if isinstance(n, str)] if isinstance(required, list) else []
        wanted = _int(schema, "minProperties", 0, _MAX_COUNT)
        names += [n for n in properties if n not in names][: max(0, wanted - len(names))]
        value: dict[str, Any] = {}
        for name in dict.fromkeys(names):
            sub = properties.get(name)
            if sub is None:
                extra = schema.get("additionalProperties")
                sub = extra if isinstance(extra, Mapping) else {}
            value[name] = self.build(sub, seed, depth + 1)
        extra = schema.get("additionalProperties")
        index = 0
        while len(value) < wanted and extra is not False:
            value[f"key{index}"] = self.build(
                extra if isinstance(extra, Mapping) else {}, seed, depth + 1
            )
            index += 1
        return value


def _kind(schema: Mapping[str, Any]) -> str | None:
    types = schema.get("type")
    if isinstance(types, list):
        concrete = [t for t in types if t != "null"]
        return concrete[0] if concrete else ("null" if types else None)
    if isinstance(types, str):
        return types
    if "properties" in schema or "required" in schema or "additionalProperties" in schema:
        return "object"
    if "items" in schema or "prefixItems" in schema:
        return "array"
    if any(k in schema for k in ("minLength", "maxLength", "pattern", "format")):
        return "string"
    if any(k in schema for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")):
        return "number"
    return None


def _is_type(value: Any, kind: str) -> bool:
    if kind == "null":
        return value is None
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer()
        )
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "string":
        return isinstance(value, str)
    if kind == "array":
        return isinstance(value, list)
    if kind == "object":
        return isinstance(value, dict)
    return True


def _number(schema: Mapping[str, Any], integer: bool, seed: int) -> int | float:
    low, high = -math.inf, math.inf
    low_open = high_open = False
    if isinstance(schema.get("minimum"), int | float):
        low = schema["minimum"]
    if (
        isinstance(schema.get("exclusiveMinimum"), int | float)
        and schema["exclusiveMinimum"] >= low
    ):
        low, low_open = schema["exclusiveMinimum"], True
    if isinstance(schema.get("maximum"), int | float):
        high = schema["maximum"]
    if (
        isinstance(schema.get("exclusiveMaximum"), int | float)
        and schema["exclusiveMaximum"] <= high
    ):
        high, high_open = schema["exclusiveMaximum"], True
    step = schema.get("multipleOf")
    if integer:
        step = step if isinstance(step, int) and step > 0 else 1
    elif not isinstance(step, int | float) or step <= 0:
        step = None

    def inside(x: float) -> bool:
        above = x > low if low_open else x >= low
        below = x < high if high_open else x <= high
        return above and below

    start = 0 if inside(0) else low if low != -math.inf else high
    if step is not None:
        # The multiples of `step` nearest the start, walking up then down.
        base = math.ceil(start / step) if start != -math.inf else 0
        for offset in range(seed, seed + 3):
            for candidate in (base + offset, base - offset - 1):
                value = candidate * step
                if inside(value):
                    return int(value) if integer else value
        return int(base * step) if integer else base * step
    value = start + seed if inside(start + seed) else start
    if not inside(value):
        if value == low and low_open:
            value = low + 1 if inside(low + 1) else (low + high) / 2
        elif value == high and high_open:
            value = high - 1 if inside(high - 1) else (low + high) / 2
    return value if not integer else int(value)


def _string(schema: Mapping[str, Any], seed: int) -> str:
    low = _int(schema, "minLength", 0, _MAX_LENGTH)
    high = _int(schema, "maxLength", _MAX_LENGTH, _MAX_LENGTH)
    fmt = schema.get("format")
    text = _FORMATS.get(fmt, "") if isinstance(fmt, str) else ""
    pattern = schema.get("pattern")
    if isinstance(pattern, str) and not text:
        try:
            compiled = re.compile(pattern)
        except re.error:
            compiled = None
        if compiled is not None:
            text = next((c for c in _PATTERN_CANDIDATES if compiled.search(c)), "")
    if seed and not text:
        text = str(seed)
    if len(text) < low:
        text += "a" * (low - len(text))
    return text[:high]
