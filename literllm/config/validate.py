"""Check parsed TOML against the schema, field by field, with messages people can act on.

msgspec would reject the same documents, but it stops at the first problem with a
terse message and no map keys; this walk reports every problem (`validate_all`). It
follows `msgspec.inspect.type_info(Config)`, so it never drifts from `schema.py`, and it
also applies the "empty means not set" rule:

- an empty string in an optional string field (`str | None`) means the field is not set;
- an empty string as a value of an options table (`backend_config`) drops that option;
- an empty string in a required string field (`name`, `provider_model`, `pattern`,
  `key`) is an error.
"""

from __future__ import annotations

import datetime
import difflib
import math
import re
from dataclasses import dataclass
from typing import Any

import msgspec.inspect as mi

from .locate import Path, table_name
from .problem import ConfigProblem
from .schema import BUDGET_DURATION_PATTERN, Config

__all__ = ["describe", "validate", "validate_all"]

_LARGEST_U64 = 9_223_372_036_854_775_807

_FIELD_HINTS: dict[tuple[Path, str], str] = {
    (("server",), "port"): "0 picks a free port",
}

_PATTERN_HINTS = {
    BUDGET_DURATION_PATTERN: 'a number of days or calendar months, e.g. "1d", "7d", "30d", "1mo"',
}

_REQUIRED_HINTS = {
    "name": 'a model name clients send, e.g. name = "gpt-4o"',
    "provider_model": 'a string of the form "provider/model", e.g. "openai/gpt-4o"',
    "pattern": 'a glob such as pattern = "anthropic/*"',
    "key": 'the bearer token clients present, e.g. key = "vk-team-a"',
    "duration_secs": "duration_secs = <seconds>",
    "path": 'an import path such as path = "mypackage.hooks:make_hook"',
    "type": 'a guardrail type, e.g. type = "patterns"',
}


@dataclass(frozen=True)
class _Slot:
    table: Path
    path: Path
    label: str

    def where(self) -> str:
        return f"{self.label} in {table_name(self.table)}"

    def hint(self) -> str:
        key = self.path[len(self.table)] if len(self.path) > len(self.table) else ""
        hint = _FIELD_HINTS.get((self.table, str(key)))
        return f" ({hint})" if hint else ""


def validate(data: dict[str, Any]) -> dict[str, Any]:
    """Return `data` cleaned of not-set values; raise `ConfigProblem` on the first problem."""
    cleaned, problems = validate_all(data)
    if problems:
        raise problems[0]
    return cleaned


def validate_all(data: dict[str, Any]) -> tuple[dict[str, Any], list[ConfigProblem]]:
    """`data` cleaned of not-set values and of every value with a problem, and every
    problem, in document order of the schema walk."""
    info = mi.type_info(Config)
    assert isinstance(info, mi.StructType)
    problems: list[ConfigProblem] = []
    return _struct(data, info, (), problems), problems


def _struct(
    data: dict[str, Any], info: mi.StructType, table: Path, problems: list[ConfigProblem]
) -> dict[str, Any]:
    fields = {field.name: field for field in info.fields}
    misspelt: set[str] = set()  # a field an unknown key probably meant: not also "missing"
    for key in data:
        if key not in fields:
            problems.append(ConfigProblem((*table, key), _unknown(key, list(fields), table)))
            misspelt.update(difflib.get_close_matches(key, list(fields), n=1, cutoff=0.6))
    cleaned: dict[str, Any] = {}
    for field in info.fields:
        slot = _Slot(table, (*table, field.name), f'"{field.name}"')
        if field.name not in data:
            if field.required and field.name not in misspelt:
                hint = _REQUIRED_HINTS.get(field.name, describe(field.type))
                problems.append(
                    ConfigProblem(
                        table,
                        f'missing required field "{field.name}" in {table_name(table)}; '
                        f"expected {hint}",
                    )
                )
            continue
        value = data[field.name]
        if value == "" and isinstance(value, str):
            if _allows_none(field.type):
                continue
            if field.required:
                hint = _REQUIRED_HINTS.get(field.name, "a non-empty string")
                problems.append(
                    ConfigProblem(slot.path, f"empty value for {slot.where()}; expected {hint}")
                )
                continue
        try:
            cleaned[field.name] = _value(value, field.type, slot, problems)
        except ConfigProblem as problem:
            problems.append(problem)
    return cleaned


def _value(value: Any, kind: mi.Type, slot: _Slot, problems: list[ConfigProblem]) -> Any:
    if isinstance(kind, mi.UnionType):
        choices = [choice for choice in kind.types if not isinstance(choice, mi.NoneType)]
        for choice in choices:
            if _same_shape(value, choice):
                return _value(value, choice, slot, problems)
        raise _wrong_type(value, kind, slot)
    if not _same_shape(value, kind):
        if isinstance(kind, mi.LiteralType) and isinstance(value, str):
            raise ConfigProblem(
                slot.path,
                f'invalid value "{value}" for {slot.where()}; expected {describe(kind)}',
            )
        raise _wrong_type(value, kind, slot)
    if isinstance(kind, mi.StructType):
        return _struct(value, kind, slot.path, problems)
    if isinstance(kind, mi.IntType | mi.FloatType):
        _check_range(value, kind, slot)
    elif isinstance(kind, mi.StrType) and kind.pattern and not re.search(kind.pattern, value):
        raise ConfigProblem(
            slot.path,
            f'invalid value "{value}" for {slot.where()}; expected {_PATTERN_HINTS[kind.pattern]}',
        )
    elif isinstance(kind, mi.ListType):
        items = []
        for index, item in enumerate(value):
            where = _Slot(slot.table, (*slot.path, index), f"item {index + 1} of {slot.label}")
            try:
                items.append(_value(item, kind.item_type, where, problems))
            except ConfigProblem as problem:
                problems.append(problem)
        return items
    elif isinstance(kind, mi.DictType):
        options = isinstance(kind.value_type, mi.UnionType)
        entries = {}
        for key, item in value.items():
            if options and item == "" and isinstance(item, str):
                continue
            where = _Slot(slot.path, (*slot.path, key), f'"{key}"')
            try:
                entries[key] = _value(item, kind.value_type, where, problems)
            except ConfigProblem as problem:
                problems.append(problem)
        return entries
    return value


def _same_shape(value: Any, kind: mi.Type) -> bool:
    if isinstance(kind, mi.StructType | mi.DictType):
        return isinstance(value, dict)
    if isinstance(kind, mi.ListType):
        return isinstance(value, list)
    if isinstance(kind, mi.IntType):
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(kind, mi.FloatType):
        return isinstance(value, int | float) and not isinstance(value, bool)
    if isinstance(kind, mi.StrType):
        return isinstance(value, str)
    if isinstance(kind, mi.BoolType):
        return isinstance(value, bool)
    if isinstance(kind, mi.LiteralType):
        return value in kind.values and type(value) in {type(v) for v in kind.values}
    return True


def _check_range(value: int | float, kind: mi.IntType | mi.FloatType, slot: _Slot) -> None:
    low_ok = (kind.ge is None or value >= kind.ge) and (kind.gt is None or value > kind.gt)
    high_ok = (kind.le is None or value <= kind.le) and (kind.lt is None or value < kind.lt)
    if isinstance(value, float) and math.isnan(value):
        low_ok = high_ok = False
    if low_ok and high_ok:
        return
    adjective = "negative" if value < 0 and low_ok is False else "out-of-range"
    raise ConfigProblem(
        slot.path,
        f"{adjective} value {value!r} for {slot.where()}; expected {describe(kind)}{slot.hint()}",
    )


def _wrong_type(value: Any, kind: mi.Type, slot: _Slot) -> ConfigProblem:
    return ConfigProblem(
        slot.path,
        f"wrong type ({_toml_type(value)}) for {slot.where()}; "
        f"expected {describe(kind)}{slot.hint()}",
    )


def _unknown(key: str, fields: list[str], table: Path) -> str:
    noun = "table" if not table else "field"
    message = f'unknown {noun} "{key}" in {table_name(table)}; expected one of: ' + ", ".join(
        fields
    )
    close = difflib.get_close_matches(key, fields, n=1, cutoff=0.6)
    if close:
        message += f' (did you mean "{close[0]}"?)'
    return message


def describe(kind: mi.Type) -> str:
    """What a value of this type looks like, in words."""
    if isinstance(kind, mi.IntType):
        low = kind.ge if kind.ge is not None else None
        if low == 0 and kind.le is not None and kind.le < _LARGEST_U64:
            return f"an integer from 0 to {kind.le}"
        return "a non-negative integer" if low == 0 else "an integer"
    if isinstance(kind, mi.FloatType):
        if kind.gt == 0:
            return "a number greater than 0"
        return "a non-negative number" if kind.ge == 0 else "a number"
    if isinstance(kind, mi.StrType):
        return "a string"
    if isinstance(kind, mi.BoolType):
        return "true or false"
    if isinstance(kind, mi.LiteralType):
        return _either([f'"{value}"' for value in kind.values])
    if isinstance(kind, mi.StructType):
        return "a table"
    if isinstance(kind, mi.ListType):
        if isinstance(kind.item_type, mi.StrType):
            return "an array of strings"
        return f"an array whose items are each {describe(kind.item_type)}"
    if isinstance(kind, mi.DictType):
        return f"a table whose values are each {describe(kind.value_type)}"
    if isinstance(kind, mi.UnionType):
        choices = [describe(c) for c in kind.types if not isinstance(c, mi.NoneType)]
        return _either(choices)
    return "a valid value"


def _either(choices: list[str]) -> str:
    if len(choices) <= 2:
        return " or ".join(choices)
    return "one of " + ", ".join(choices[:-1]) + " or " + choices[-1]


def _allows_none(kind: mi.Type) -> bool:
    return isinstance(kind, mi.UnionType) and any(
        isinstance(choice, mi.NoneType) for choice in kind.types
    )


def _toml_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, datetime.datetime):
        return "date-time"
    if isinstance(value, datetime.date):
        return "date"
    if isinstance(value, datetime.time):
        return "time"
    names = {str: "string", int: "integer", float: "float", list: "array", dict: "table"}
    return names.get(type(value), type(value).__name__)
