"""Find, read, interpolate, parse and validate `liter-llm-proxy.toml`.

Every failure is a `ConfigError` whose message reads
`FILE:LINE:COL: <what> in <table>; expected ...`. Lines and columns are 1-based and
refer to the file as written (before `${VAR}` interpolation): a position inside an
interpolated value points at the `$` of its `${VAR}`.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec

from ..errors import ConfigError
from .checks import find_problems
from .interpolate import Interpolated, interpolate_with_positions
from .locate import find_offset, key_offsets, table_name
from .problem import ConfigProblem
from .schema import Config
from .state_options import DEFAULT_STATE_PATH
from .validate import validate

__all__ = [
    "CONFIG_FILENAME",
    "DEFAULT_STATE_PATH",
    "discover",
    "find_config",
    "load_config",
    "parse_config",
]

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
    found = find_config(path)
    if found is None:
        return Config()
    shown = str(found)
    try:
        data = found.read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"cannot read config file ({exc.strerror or exc}); expected a readable file",
            path=shown,
        ) from None
    return parse_config(data, shown, environ)


def parse_config(
    text: str | bytes,
    filename: str = CONFIG_FILENAME,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Parse and validate one config document; `filename` only labels error messages."""
    if isinstance(text, bytes):
        text = _decode(text, filename)
    text = text.removeprefix("\ufeff")
    source = interpolate_with_positions(text, os.environ if environ is None else environ)
    raw = _parse_toml(source, filename)
    try:
        config = msgspec.convert(validate(raw), Config)
        problems = find_problems(config)
    except ConfigProblem as problem:
        raise _located(problem, source, filename) from None
    except msgspec.ValidationError as exc:  # the schema walk should have caught it first
        raise ConfigError(f"{exc}; expected a valid configuration", path=filename) from None
    if problems:
        raise _located(problems[0], source, filename)
    return _with_state_defaults(config)


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


def _located(problem: ConfigProblem, source: Interpolated, filename: str) -> ConfigError:
    offset = find_offset(key_offsets(source.text), problem.path)
    line, column = source.raw_position(offset)
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
