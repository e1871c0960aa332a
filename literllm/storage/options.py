"""Check `[cache.backend_config]` and `[files.backend_config]` against the options each
OpenDAL service accepts, with their types, before anything is built.

The option names and types come from the typed service configurations the installed
`opendal` package ships (`opendal.config`, one `TypedDict` per scheme), so they follow
the package. OpenDAL takes every option as a string; a TOML value is accepted when it
has the option's type, or is a string that reads as one (`"true"`, `"6379"`), so values
from `${VAR}` interpolation work. Option values never appear in messages.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Mapping

from ..config import Config, ConfigProblem
from ..config.backends import canonical_scheme

__all__ = ["backend_option_problems", "service_options"]

_KIND = re.compile(r"^(?:Not)?Required\[(.*)\]$")
OptionValue = str | int | float | bool


def service_options(scheme: str) -> dict[str, str] | None:
    """Option name -> `str`, `int`, `bool` or `other` for an OpenDAL scheme; None when the
    package has no typed configuration for it."""
    import opendal.config as typed

    for value in vars(typed).values():
        annotations = getattr(value, "__annotations__", None)
        if not isinstance(value, type) or not isinstance(annotations, dict):
            continue
        declared = annotations.get("scheme")
        if declared is None or f"'{scheme}'" not in _text(declared):
            continue
        return {name: _kind(_text(kind)) for name, kind in annotations.items() if name != "scheme"}
    return None


def backend_option_problems(config: Config) -> Iterator[ConfigProblem]:
    for table, section in (("cache", config.cache), ("files", config.files)):
        if section is not None:
            yield from _check(table, section.backend, section.backend_config)


def _check(table: str, backend: str, options: Mapping[str, OptionValue]) -> Iterator[ConfigProblem]:
    scheme = canonical_scheme(backend)
    accepted = service_options(scheme)
    if accepted is None:
        return
    where = f"[{table}.backend_config]"
    for name, value in options.items():
        path = (table, "backend_config", name)
        kind = accepted.get(name)
        if kind is None:
            close = difflib.get_close_matches(name, list(accepted), n=1, cutoff=0.6)
            hint = f' (did you mean "{close[0]}"?)' if close else ""
            listed = ", ".join(sorted(accepted)) or "no options"
            yield ConfigProblem(
                path,
                f'unknown option "{name}" in {where} for backend = "{backend}"; expected '
                f"one of: {listed}{hint}",
            )
        elif not _fits(value, kind):
            yield ConfigProblem(
                path,
                f'wrong type ({_toml_type(value)}) for option "{name}" in {where} for '
                f'backend = "{backend}"; expected {_describe(kind)}',
            )


def _text(annotation: object) -> str:
    return str(getattr(annotation, "__forward_arg__", annotation))


def _kind(annotation: str) -> str:
    match = _KIND.match(annotation.strip())
    inner = match.group(1) if match else annotation
    if inner in ("str", "str | os.PathLike[str]"):
        return "str"
    if inner in ("int", "bool"):
        return inner
    return "other"


def _fits(value: OptionValue, kind: str) -> bool:
    if kind == "str":
        return isinstance(value, str)
    if kind == "int":
        if isinstance(value, bool):
            return False
        return isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit())
    if kind == "bool":
        return isinstance(value, bool) or (
            isinstance(value, str) and value.strip().lower() in ("true", "false")
        )
    return True


def _describe(kind: str) -> str:
    return {
        "str": "a string",
        "int": 'an integer (or a string of digits, e.g. "${VAR}")',
        "bool": 'true or false (or the string "true" or "false")',
    }.get(kind, "a valid value")


def _toml_type(value: OptionValue) -> str:
    if isinstance(value, bool):
        return "boolean"
    return {str: "string", int: "integer", float: "float"}.get(type(value), "value")
