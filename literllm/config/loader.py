"""Read, interpolate, parse and validate `liter-llm-proxy.toml`."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec

from ..errors import ConfigError
from .schema import Config

CONFIG_FILENAME = "liter-llm-proxy.toml"
_VAR = re.compile(r"\$\{([^}]*)\}")


def interpolate(text: str, environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    return _VAR.sub(lambda m: env.get(m.group(1), ""), text)


def discover(start: Path | None = None) -> Path | None:
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_FILENAME
        if candidate.is_file():
            return candidate
    return None


def load_config(path: str | os.PathLike[str] | None = None,
                environ: Mapping[str, str] | None = None) -> Config:
    if path is None:
        found = discover()
        if found is None:
            return Config()
        path = found
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {p}") from None
    return parse_config(text, str(p), environ)


def parse_config(text: str, filename: str = CONFIG_FILENAME,
                 environ: Mapping[str, str] | None = None) -> Config:
    try:
        raw: dict[str, Any] = tomllib.loads(interpolate(text, environ))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid TOML: {exc}", path=filename) from None
    try:
        return msgspec.convert(raw, Config)
    except msgspec.ValidationError as exc:
        raise ConfigError(str(exc), path=filename) from None
