"""Find, read, interpolate, parse and validate `liter-llm-proxy.toml`.

Every failure is a `ConfigError` whose message reads
`FILE:LINE:COL: <what> in <table>; expected ...`. Lines and columns are 1-based and
refer to the file as written (before `${VAR}` interpolation): a position inside an
interpolated value points at the `$` of its `${VAR}`. Every problem of a file is
reported at once (a `ConfigErrors` when there are several), in file order; warnings
(for instance an unset `${VAR}` in an optional field) come back in a `ConfigReport`.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import msgspec

from ..errors import ConfigError, ConfigErrors
from .checks import find_problems
from .interpolate import Interpolated, interpolate_with_positions, line_and_column
from .locate import find_offset, key_offsets, table_name
from .problem import ConfigProblem
from .schema import Config
from .state_options import DEFAULT_STATE_PATH
from .unset import unset_variable_problems
from .validate import validate_all

__all__ = [
    "CONFIG_FILENAME",
    "DEFAULT_STATE_PATH",
    "Check",
    "ConfigReport",
    "discover",
    "find_config",
    "inspect_config",
    "load_config",
    "parse_config",
    "parse_config_report",
]

Check = Callable[[Config], Iterable[ConfigProblem]]
"""A further check of a parsed config (what the environment and registry say)."""


class ConfigReport(NamedTuple):
    """A config that loaded, the file it came from, and the warnings about it."""

    config: Config
    filename: str | None
    warnings: list[ConfigError]


CONFIG_FILENAME = "liter-llm-proxy.toml"

_TOML_POSITION = re.compile(r"\s*\((?:at line (\d+), column (\d+)|at end of document)\)\s*$")
_HEADER = re.compile(r"^[ \t]*(\[\[?)[ \t]*([^\[\]#]+?)[ \t]*\]")


def discover(start: Path | None = None) -> Path | None:
    """The first `liter-llm-proxy.toml` in `start` (default: the working directory) or above."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_FILENAME
        if candidate.is_file():
            return candidate
    return None


def find_config(path: str | os.PathLike[str] | None = None) -> Path | None:
    """The file to load: `path` when given (it must exist, and is returned as given), else
    the discovered one, if any, relative to the working directory (as errors name it)."""
    if path is None:
        found = discover()
        return Path(_relative(found)) if found is not None else None
    explicit = Path(path)
    if not explicit.is_file():
        what = "is a directory" if explicit.is_dir() else "not found"
        raise ConfigError(
            f"config file {what}; expected an existing TOML file "
            "(an explicit --config path disables discovery)",
            path=str(explicit),
        )
    return explicit


def load_config(
    path: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None
) -> Config:
    """Load `path`, or the discovered file; the defaults when there is neither.

    `environ` (default: `os.environ`, read at call time) feeds `${VAR}` interpolation.
    """
    return inspect_config(path, environ).config


def inspect_config(
    path: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    checks: Sequence[Check] = (),
) -> ConfigReport:
    """Like `load_config`, also running `checks`, and returning the warnings too."""
    found = find_config(path)
    if found is None:
        return ConfigReport(Config(), None, [])
    shown = str(found)
    try:
        data = found.read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"cannot read config file ({exc.strerror or exc}); expected a readable file",
            path=shown,
        ) from None
    return parse_config_report(data, shown, environ, checks)


def parse_config(
    text: str | bytes,
    filename: str = CONFIG_FILENAME,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Parse and validate one config document; `filename` only labels error messages."""
    return parse_config_report(text, filename, environ).config


def parse_config_report(
    text: str | bytes,
    filename: str = CONFIG_FILENAME,
    environ: Mapping[str, str] | None = None,
    checks: Sequence[Check] = (),
) -> ConfigReport:
    """Parse and validate one document, run `checks`, and report every problem at once.

    Raises `ConfigError` for one error, `ConfigErrors` for several; warnings are returned.
    """
    if isinstance(text, bytes):
        text = _decode(text, filename)
    text = text.removeprefix("\ufeff")
    source = interpolate_with_positions(text, os.environ if environ is None else environ)
    raw = _parse_toml(source, filename)
    cleaned, schema_problems = validate_all(raw)
    problems = [*unset_variable_problems(source, raw), *schema_problems]
    config: Config | None = None
    try:
        config = msgspec.convert(cleaned, Config)
    except msgspec.ValidationError as exc:
        if not any(p.severity == "error" for p in problems):  # the walk should have seen it
            raise ConfigError(f"{exc}; expected a valid configuration", path=filename) from None
    if config is not None:
        problems += find_problems(config)
        for check in checks:
            problems += check(config)
    errors, warnings = _report(problems, source, filename)
    if errors:
        error = errors[0] if len(errors) == 1 else ConfigErrors(errors)
        error.warnings = warnings
        raise error from None
    assert config is not None
    return ConfigReport(_with_state_defaults(config), filename, warnings)


def _report(
    problems: list[ConfigProblem], source: Interpolated, filename: str
) -> tuple[list[ConfigError], list[ConfigError]]:
    """Located errors and warnings, each in file order; an error already reported for a
    field hides later errors about the same field."""
    offsets = key_offsets(source.text)
    seen: set[tuple[Any, ...]] = set()
    errors: list[tuple[tuple[int, int], ConfigError]] = []
    warnings: list[tuple[tuple[int, int], ConfigError]] = []
    for problem in problems:
        if problem.severity == "error":
            if problem.path in seen and problem.path:
                continue
            seen.add(problem.path)
        located = _located(problem, source, filename, offsets)
        position = (located.line or 0, located.column or 0)
        (errors if problem.severity == "error" else warnings).append((position, located))
    errors.sort(key=lambda item: item[0])
    warnings.sort(key=lambda item: item[0])
    return [e for _, e in errors], [w for _, w in warnings]


def _decode(data: bytes, filename: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ConfigError(
            f"invalid UTF-8 byte 0x{data[exc.start]:02x} in the document; "
            "expected a UTF-8 text file",
            path=filename,
            line=line,
            column=column,
        ) from None


def _parse_toml(source: Interpolated, filename: str) -> dict[str, Any]:
    try:
        return tomllib.loads(source.text)
    except tomllib.TOMLDecodeError as exc:
        reason = str(exc)
        match = _TOML_POSITION.search(reason)
        offset = len(source.text)
        if match is not None:
            reason = reason[: match.start()]
            if match.group(1):
                offset = _offset_of(source.text, int(match.group(1)), int(match.group(2)))
        line, column = source.raw_position(offset)
        reason = reason[:1].lower() + reason[1:]
        where = _enclosing_table(source.text, offset)
        raise ConfigError(
            f"TOML syntax error ({reason}) in {where}; expected valid TOML (https://toml.io)",
            path=filename,
            line=line,
            column=column,
        ) from None
    except RecursionError:
        raise ConfigError(
            "TOML syntax error (arrays or tables nested too deeply) in the document; "
            "expected valid TOML",
            path=filename,
            line=1,
            column=1,
        ) from None


def _offset_of(text: str, line: int, column: int) -> int:
    start = 0
    for _ in range(line - 1):
        start = text.find("\n", start) + 1
        if start == 0:
            return len(text)
    return min(start + column - 1, len(text))


def _enclosing_table(text: str, offset: int) -> str:
    """Best-effort name of the table a syntax error sits in (the text does not parse)."""
    current: tuple[str | int, ...] = ()
    counts: dict[tuple[str, ...], int] = {}
    for line in text[: text.rfind("\n", 0, offset) + 1].splitlines():
        match = _HEADER.match(line)
        if match is None:
            continue
        keys = tuple(part.strip().strip("\"'") for part in match.group(2).split("."))
        if match.group(1) == "[[":
            counts[keys] = counts.get(keys, 0) + 1
            current = (*keys, counts[keys] - 1)
        else:
            current = keys
    return table_name(current)


def _located(
    problem: ConfigProblem, source: Interpolated, filename: str, offsets: dict[Any, int]
) -> ConfigError:
    if problem.raw_offset is not None:
        line, column = line_and_column(source.raw, problem.raw_offset)
    else:
        line, column = source.raw_position(find_offset(offsets, problem.path))
    return ConfigError(problem.message, path=filename, line=line, column=column)


def _with_state_defaults(config: Config) -> Config:
    state = config.state
    if state.backend != "sqlite" or "path" in state.backend_config:
        return config
    options = {**state.backend_config, "path": DEFAULT_STATE_PATH}
    return msgspec.structs.replace(
        config, state=msgspec.structs.replace(state, backend_config=options)
    )


def _relative(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)
