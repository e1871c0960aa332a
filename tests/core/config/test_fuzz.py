"""Property tests: whatever the input, the loader raises nothing but `ConfigError`."""

from __future__ import annotations

import math
import tomllib
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from literllm.config import Config, parse_config
from literllm.errors import ConfigError

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])

FIELD_NAMES = [
    "server", "general", "models", "aliases", "keys", "rate_limit", "budget", "cache",
    "files", "health", "cooldown", "routing", "state", "host", "port", "master_key",
    "name", "provider_model", "fallbacks", "weight", "key", "models", "rpm", "tpm",
    "pattern", "enforcement", "model_limits", "backend", "backend_config", "max_entries",
    "interval_secs", "probe_model", "duration_secs", "strategy", "url", "fail_open",
]  # fmt: skip


def toml_string(value: str) -> str:
    out = []
    for char in value:
        if char in '"\\':
            out.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F or 0xD800 <= ord(char) <= 0xDFFF:
            out.append(f"\\u{ord(char):04x}" if ord(char) < 0xD800 else "?")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    return "{" + ", ".join(f"{toml_string(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


def dump(document: dict[str, Any]) -> str:
    """A tiny TOML writer: scalars first, then [tables] and [[arrays of tables]]."""
    lines: list[str] = []
    tables: list[tuple[str, Any]] = []
    for key, value in document.items():
        is_table = isinstance(value, dict)
        is_array_of_tables = (
            isinstance(value, list) and value and all(isinstance(item, dict) for item in value)
        )
        if is_table or is_array_of_tables:
            tables.append((key, value))
        else:
            lines.append(f"{toml_string(key)} = {toml_value(value)}")
    for key, value in tables:
        items = [value] if isinstance(value, dict) else value
        header = f"[{toml_string(key)}]" if isinstance(value, dict) else f"[[{toml_string(key)}]]"
        for item in items:
            lines.append(header)
            lines.extend(f"{toml_string(k)} = {toml_value(v)}" for k, v in item.items())
    return "\n".join(lines) + "\n"


keys = st.one_of(st.sampled_from(FIELD_NAMES), st.text(max_size=8))
scalars = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(),
    st.text(max_size=12),
    st.sampled_from(["openai/gpt-4o", "mock/echo", "hard", "medium", "redis", "memory", ""]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(keys, inner, max_size=3)),
    max_leaves=8,
)
tables = st.dictionaries(keys, values, max_size=5)
documents = st.dictionaries(
    keys,
    st.one_of(values, tables, st.lists(tables, min_size=1, max_size=3)),
    max_size=6,
)


def _schema_tables() -> dict[str, list[str]]:
    fields = {}
    for field in msgspec.structs.fields(Config):
        kind = field.type
        args = [a for a in getattr(kind, "__args__", ()) if a is not type(None)]
        struct = args[0] if args else kind
        fields[field.name] = [f.name for f in msgspec.structs.fields(struct)]
    return fields


plausible = st.one_of(
    scalars,
    st.integers(min_value=-2, max_value=70_000),
    st.sampled_from(["a", "b", "openai/gpt-4o", "mock/echo", "sk-abcdefgh", "s3", "weighted"]),
    st.lists(st.sampled_from(["a", "b", "c", "openai/x", ""]), max_size=3),
    st.dictionaries(st.sampled_from(["url", "path", "a/b", "password"]), scalars, max_size=2),
)


@st.composite
def schema_documents(draw: st.DrawFn) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for table, names in _schema_tables().items():
        if not draw(st.booleans()):
            continue
        make = st.dictionaries(st.sampled_from(names), plausible, max_size=len(names))
        if table in {"models", "aliases", "keys"}:
            document[table] = draw(st.lists(make, min_size=1, max_size=4))
        else:
            document[table] = draw(make)
    return document


environs = st.dictionaries(
    st.from_regex(r"[A-Z_][A-Z0-9_]{0,5}", fullmatch=True), st.text(max_size=10), max_size=3
)


def check(text: str | bytes, environ: dict[str, str]) -> ConfigError | None:
    try:
        assert isinstance(parse_config(text, "fuzz.toml", environ), Config)
    except ConfigError as err:
        assert str(err).startswith("fuzz.toml:")
        assert err.line is not None and err.line >= 1
        assert err.column is not None and err.column >= 1
        return err
    return None


@SETTINGS
@given(st.text(), environs)
def test_arbitrary_text(text: str, environ: dict[str, str]) -> None:
    check(text, environ)


@SETTINGS
@given(st.binary())
def test_arbitrary_bytes(data: bytes) -> None:
    check(data, {})


@SETTINGS
@given(documents)
def test_arbitrary_well_formed_toml(document: dict[str, Any]) -> None:
    text = dump(document)
    tomllib.loads(text)  # the writer itself produces valid TOML
    err = check(text, {})
    assert err is None or "TOML syntax error" not in str(err)


@SETTINGS
@given(schema_documents())
def test_schema_shaped_toml(document: dict[str, Any]) -> None:
    text = dump(document)
    tomllib.loads(text)
    err = check(text, {})
    assert err is None or "TOML syntax error" not in str(err)


@SETTINGS
@given(documents, environs)
def test_well_formed_toml_with_interpolation(
    document: dict[str, Any], environ: dict[str, str]
) -> None:
    text = dump(document).replace('"mock/echo"', '"${PROVIDER}/echo"')
    check(text, {**environ, "PROVIDER": "mock"})
