"""Problems from `${VAR}` references whose variable is unset.

An unset variable becomes the empty string (see `interpolate`). Where that makes a
required field empty, or leaves a hole inside an endpoint (`"http://${HOST}:9000"`),
every request would fail, so it is an error naming the variable; anywhere else the
field is treated as not set, which is allowed, so it is a warning naming the variable
and the field. References inside comments are ignored.
"""

from __future__ import annotations

from typing import Any

from .interpolate import Interpolated
from .locate import Path, key_offsets, table_name
from .problem import ConfigProblem

__all__ = ["unset_variable_problems"]

_REQUIRED = frozenset({"name", "provider_model", "pattern", "key"})
_ENDPOINTS = frozenset({"base_url", "endpoint", "url", "cluster_endpoints"})


def unset_variable_problems(source: Interpolated, data: dict[str, Any]) -> list[ConfigProblem]:
    """One problem per reference to an unset variable, pointing at its `$`."""
    if not source.unset:
        return []
    offsets = sorted(key_offsets(source.text).items(), key=lambda item: item[1])
    problems: list[ConfigProblem] = []
    for name, index in source.unset:
        text_offset, raw_offset, _, _ = source.substitutions[index]
        if _in_comment(source.raw, raw_offset):
            continue
        path = _path_at(offsets, text_offset)
        if path is None:
            continue
        problems.append(_problem(name, path, _lookup(data, path), raw_offset))
    return problems


def _problem(name: str, path: Path, value: Any, offset: int) -> ConfigProblem:
    field = path[-1]
    if isinstance(field, int):
        where = f'item {field + 1} of "{path[-2]}" in {table_name(path[:-2])}'
    else:
        where = f'"{field}" in {table_name(path[:-1])}'
    reference = "${" + name + "}"
    required = field in _REQUIRED and len(path) == 3 and isinstance(path[1], int)
    if isinstance(field, int) or required:
        return ConfigProblem(
            path,
            f"unset variable {reference} leaves {where} empty; expected {name} set in the "
            "environment (this value is required)",
            raw_offset=offset,
        )
    if field in _ENDPOINTS and isinstance(value, str) and value:
        return ConfigProblem(
            path,
            f"unset variable {reference} inside the endpoint {where}; expected {name} set "
            "in the environment (the endpoint is incomplete without it)",
            raw_offset=offset,
        )
    return ConfigProblem(
        path,
        f"unset variable {reference} in {where}: the value is empty, so the field counts "
        f"as not set; set {name} in the environment if a value was meant",
        severity="warning",
        raw_offset=offset,
    )


def _in_comment(raw: str, offset: int) -> bool:
    """Whether a `#` outside any string precedes `offset` on its line (a best effort:
    multi-line strings are not followed across lines)."""
    quote = ""
    index = raw.rfind("\n", 0, offset) + 1
    while index < offset:
        char = raw[index]
        if quote:
            if char == "\\" and quote == '"':
                index += 1
            elif char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char == "#":
            return True
        index += 1
    return False


def _path_at(offsets: list[tuple[Path, int]], offset: int) -> Path | None:
    """The key or array item whose text starts last at or before `offset`."""
    found: Path | None = None
    for path, start in offsets:
        if start > offset:
            break
        found = path
    return found


def _lookup(data: Any, path: Path) -> Any:
    for part in path:
        if isinstance(data, dict) and isinstance(part, str):
            data = data.get(part)
        elif isinstance(data, list) and isinstance(part, int) and part < len(data):
            data = data[part]
        else:
            return None
    return data
