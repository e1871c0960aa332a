"""Command-line flags over the file: defaults < file < flags actually given."""

from __future__ import annotations

import os
from collections.abc import Mapping

import msgspec

from ..errors import ConfigError
from .schema import Config

__all__ = ["MASTER_KEY_ENV", "apply_overrides"]

MASTER_KEY_ENV = "LITER_LLM_MASTER_KEY"


def apply_overrides(
    config: Config,
    *,
    host: str | None = None,
    port: int | None = None,
    master_key: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Apply the flags that were given (`None` means "not given"; so does an empty key).

    When neither a flag nor the file sets a master key, `LITER_LLM_MASTER_KEY` from
    `environ` (default: `os.environ`, read at call time) is used if it is non-empty.
    """
    server = config.server
    if host is not None:
        if not host.strip():
            raise ConfigError('empty value for --host; expected a bind address such as "0.0.0.0"')
        server = msgspec.structs.replace(server, host=host)
    if port is not None:
        if isinstance(port, bool) or not 0 <= port <= 65535:
            raise ConfigError(
                f"out-of-range value {port!r} for --port; expected an integer from 0 to 65535 "
                "(0 picks a free port)"
            )
        server = msgspec.structs.replace(server, port=port)
    general = config.general
    key = master_key or general.master_key
    if not key:
        env = os.environ if environ is None else environ
        key = env.get(MASTER_KEY_ENV) or None
    if key != general.master_key:
        general = msgspec.structs.replace(general, master_key=key)
    return msgspec.structs.replace(config, server=server, general=general)
