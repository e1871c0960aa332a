"""The mock provider's schema-instance generator: what it builds validates."""

from __future__ import annotations

import datetime
import enum
import json
import uuid
from typing import Annotated, Any, Literal

import jsonschema
import pydantic
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openai.lib._pydantic import to_strict_json_schema

from literllm.transport.mock_schema import instance

_CHECKER = jsonschema.Draft202012Validator.FORMAT_CHECKER


def assert_valid(schema: dict[str, Any]) -> Any:
    value = instance(schema)
    jsonschema.Draft202012Validator(schema, format_checker=_CHECKER).validate(value)
    return value


# -- hand-written cases -------------------------------------------------------------


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ({"type": "string"}, ""),
        ({"type": "string", "minLength": 3}, "aaa"),
        ({"type": "string", "format": "date-time"}, "2024-01-01T00:00:00Z"),
        ({"type": "string", "format": "uuid"}, "00000000-0000-4000-8000-000000000000"),
        ({"type": "string", "pattern": "^[0-9]+$"}, "0"),
        ({"type": "integer"}, 0),
        ({"type": "integer", "minimum": 3}, 3),
        ({"type": "integer", "exclusiveMinimum": 0}, 1),
        ({"type": "integer", "maximum": -4}, -4),
        ({"type": "integer", "minimum": 7, "multipleOf": 5}, 10),
        ({"type": "number", "exclusiveMinimum": 0.5, "maximum": 1}, 0.75),
        ({"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1}, 0.5),
        ({"type": "boolean"}, False),
        ({"type": "null"}, None),
        ({"type": ["null", "integer"]}, 0),
        ({"enum": ["red", "green"]}, "red"),
        ({"const": {"a": 1}}, {"a": 1}),
        ({"type": "array", "items": {"type": "integer"}}, []),
        ({"type": "array", "items": {"type": "integer"}, "minItems": 2}, [0, 1]),
        (
            {"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}]},
            ["", 1],
        ),
        (
            {
                "type": "object",
                "properties": {"a": {"type": "string"}, "b": {"type": "integer"}},
                "required": ["b"],
            },
            {"b": 0},
        ),
        (
            {"type": "object", "minProperties": 1, "additionalProperties": {"type": "integer"}},
            {"key0": 0},
        ),
        ({"anyOf": [{"type": "null"}, {"type": "string", "minLength": 1}]}, "a"),
        ({"allOf": [{"type": "integer", "minimum": 2}, {"maximum": 9}]}, 2),
        (
            {
                "$defs": {
                    "Point": {
                        "type": "object",
                        "properties": {"x": {"type": "integer"}},
                        "required": ["x"],
                    }
                },
                "$ref": "#/$defs/Point",
            },
            {"x": 0},
        ),
    ],
)
def test_minimal_instances(schema: dict[str, Any], expected: Any) -> None:
    assert assert_valid(schema) == expected


def test_one_of_picks_a_branch_no_other_accepts() -> None:
    schema = {
        "oneOf": [
            {"type": "object", "properties": {"n": {"type": "integer"}}},
            {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]},
        ]
    }
    # {} matches only the first branch; {"n": 0} would match both.
    assert assert_valid(schema) == {}
    numbers = {"oneOf": [{"type": "integer"}, {"type": "string"}]}
    assert assert_valid(numbers) == 0


def test_recursive_schema_terminates() -> None:
    schema = {
        "$defs": {
            "Node": {
                "type": "object",
                "properties": {
                    "value": {"type": "integer"},
                    "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}},
                },
                "required": ["value", "children"],
            }
        },
        "$ref": "#/$defs/Node",
    }
    assert assert_valid(schema) == {"value": 0, "children": []}
    assert instance({"$defs": {"A": {"$ref": "#/$defs/A"}}, "$ref": "#/$defs/A"}) is None


def test_boolean_and_odd_inputs_do_not_raise() -> None:
    for schema in (True, False, None, {}, {"type": []}, {"$ref": "https://example.com/x"}):
        instance(schema)


# -- what pydantic and OpenAI's strict mode emit ---------------------------------------


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Address(pydantic.BaseModel):
    street: Annotated[str, pydantic.StringConstraints(min_length=3, max_length=40)]
    postcode: str | None = None


class Cat(pydantic.BaseModel):
    kind: Literal["cat"]
    lives: Annotated[int, pydantic.Field(ge=1, le=9)]


class Dog(pydantic.BaseModel):
    kind: Literal["dog"]
    good: bool


class Person(pydantic.BaseModel):
    name: str
    age: Annotated[int, pydantic.Field(gt=0, lt=150)]
    score: Annotated[float, pydantic.Field(ge=0.5, le=1.0)]
    colour: Colour
    born: datetime.date
    seen: datetime.datetime
    wait: datetime.timedelta
    ident: uuid.UUID
    tags: Annotated[list[str], pydantic.Field(min_length=2)]
    address: Address
    previous: list[Address]
    pet: Annotated[Cat | Dog, pydantic.Field(discriminator="kind")]
    either: int | str
    counts: dict[str, int]
    nickname: str | None = None
    friends: list[Person] = []


@pytest.mark.parametrize("model", [Person, Address, Cat])
def test_pydantic_models_validate(model: type[pydantic.BaseModel]) -> None:
    schema = model.model_json_schema()
    value = assert_valid(schema)
    model.model_validate(value)
    strict = to_strict_json_schema(model)
    model.model_validate(assert_valid(strict))


# -- generated schemas ---------------------------------------------------------------

_names = st.sampled_from(["a", "b", "c", "name", "x-y", "kind"])
_scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=3))


@st.composite
def _integers(draw: st.DrawFn) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "integer"}
    low = draw(st.integers(-100, 100))
    width = draw(st.integers(0, 60))
    step = draw(st.sampled_from([None, 1, 2, 3, 7]))
    if step is not None and width >= step + 2:
        schema["multipleOf"] = step
    if draw(st.booleans()):
        schema["exclusiveMinimum" if width >= 2 and draw(st.booleans()) else "minimum"] = low
    if draw(st.booleans()):
        key = "exclusiveMaximum" if width >= 2 and draw(st.booleans()) else "maximum"
        schema[key] = low + width
    return schema


@st.composite
def _numbers(draw: st.DrawFn) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "number"}
    low = draw(st.floats(-1e3, 1e3, allow_nan=False))
    width = draw(st.floats(0.01, 50, allow_nan=False))
    if draw(st.booleans()):
        schema["exclusiveMinimum" if draw(st.booleans()) else "minimum"] = low
    if draw(st.booleans()):
        schema["exclusiveMaximum" if draw(st.booleans()) else "maximum"] = low + width
    return schema


@st.composite
def _strings(draw: st.DrawFn) -> dict[str, Any]:
    if draw(st.booleans()):
        fmt = draw(st.sampled_from(["date", "date-time", "email", "uri", "uuid", "ipv4", "ipv6"]))
        return {"type": "string", "format": fmt}
    low = draw(st.integers(0, 10))
    schema: dict[str, Any] = {"type": "string", "minLength": low}
    if draw(st.booleans()):
        schema["maxLength"] = low + draw(st.integers(0, 5))
    return schema


_leaves = st.one_of(
    st.just({"type": "null"}),
    st.just({"type": "boolean"}),
    _integers(),
    _numbers(),
    _strings(),
    st.lists(_scalars, min_size=1, max_size=4).map(lambda v: {"enum": v}),
    _scalars.map(lambda v: {"const": v}),
    st.just({}),
)


def _objects(children: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        properties = draw(st.dictionaries(_names, children, max_size=4))
        required = (
            draw(st.lists(st.sampled_from(sorted(properties)), unique=True)) if properties else []
        )
        schema: dict[str, Any] = {"type": "object", "properties": properties, "required": required}
        if draw(st.booleans()):
            schema["additionalProperties"] = False
        return schema

    return build()


def _arrays(children: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        low = draw(st.integers(0, 3))
        schema: dict[str, Any] = {"type": "array", "items": draw(children), "minItems": low}
        if draw(st.booleans()):
            schema["maxItems"] = low + draw(st.integers(0, 2))
        return schema

    return build()


def _tagged_union(children: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """oneOf as pydantic emits a discriminated union: objects told apart by a const tag."""

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        count = draw(st.integers(1, 3))
        branches = []
        for index in range(count):
            branch = draw(_objects(children))
            branch["properties"]["tag"] = {"const": f"t{index}", "type": "string"}
            branch["required"] = [*branch["required"], "tag"]
            branches.append(branch)
        return {"oneOf": branches, "discriminator": {"propertyName": "tag"}}

    return build()


def _tree(leaves: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return st.recursive(
        leaves,
        lambda children: st.one_of(
            _objects(children),
            _arrays(children),
            st.lists(children, min_size=1, max_size=3).map(lambda v: {"anyOf": v}),
            _tagged_union(children),
        ),
        max_leaves=12,
    )


@st.composite
def _documents(draw: st.DrawFn) -> dict[str, Any]:
    """A schema whose parts may `$ref` a definition in its `$defs`, as pydantic nests."""
    inner = draw(_tree(_leaves))
    outer = draw(_tree(st.one_of(_leaves, st.just({"$ref": "#/$defs/Inner"}))))
    return {**outer, "$defs": {"Inner": inner}}


@settings(max_examples=120, deadline=None)
@given(_documents())
def test_generated_schemas_validate(schema: dict[str, Any]) -> None:
    assert_valid(schema)


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "array", "items": {"type": "integer"}, "minItems": 10**12},
        {"type": "string", "minLength": 10**12},
        {"type": "object", "minProperties": 10**9},
        {"type": "array", "minItems": "many"},
        {"type": "object", "properties": [1, 2], "required": 5},
        {"type": "integer", "minimum": 1e308, "multipleOf": 1e-308},
        {"type": "number", "minimum": "zero"},
        {"allOf": [{"properties": []}, {"properties": {"a": {}}}]},
        {"oneOf": [{"properties": []}, {"type": "string"}]},
        {
            "type": "array",
            "minItems": 50,
            "items": {"type": "array", "minItems": 50, "items": {"type": "array", "minItems": 50}},
        },
    ],
)
def test_hostile_schemas_are_bounded_and_never_raise(schema: dict[str, Any]) -> None:
    value = instance(schema)
    assert len(json.dumps(value)) < 100_000
