"""Build an OpenDAL async operator from a `backend` scheme and its `backend_config`.

The `[cache]` and `[files]` tables name an OpenDAL scheme (`fs`, `redis`, `s3`, `gcs`,
`azblob`, `memory`, ...) and pass `backend_config` through as the operator's options.
OpenDAL takes every option as a string, so TOML values are mapped here: booleans
become `"true"`/`"false"`, numbers their decimal text.

Building an operator does no I/O: a wrong endpoint or missing bucket only shows on
the first read or write. A scheme OpenDAL does not know, or options it rejects, raise
`ConfigError` naming the table and what to change. Option values never appear in the
message (they may hold credentials).
"""

from __future__ import annotations

import atexit
import time
from collections.abc import Mapping

import opendal

from literllm.errors import ConfigError

__all__ = ["build_operator", "operator_options"]

OptionValue = str | int | float | bool


def operator_options(options: Mapping[str, OptionValue]) -> dict[str, str]:
    """Map TOML option values to the strings OpenDAL expects."""
    mapped: dict[str, str] = {}
    for name, value in options.items():
        if isinstance(value, bool):
            mapped[name] = "true" if value else "false"
        else:
            mapped[name] = str(value)
    return mapped


def build_operator(
    scheme: str, options: Mapping[str, OptionValue], *, table: str
) -> opendal.AsyncOperator:
    """Return an `opendal.AsyncOperator` for `scheme`; `table` names the TOML table.

    Raises `ConfigError` when OpenDAL cannot build the operator.
    """
    try:
        built = opendal.AsyncOperator(scheme, **operator_options(options))
    except Exception as exc:  # OpenDAL raises its own classes (Unsupported, ConfigInvalid)
        raise ConfigError(
            f"[{table}] backend = {scheme!r}: OpenDAL cannot build this backend "
            f"({_summary(exc)}). Check the scheme name and the options in "
            f"[{table}.backend_config] against the OpenDAL documentation for {scheme!r}."
        ) from exc
    atexit.unregister(_let_runtime_settle)  # once per process, however many operators
    atexit.register(_let_runtime_settle)
    return built


_SETTLE_SECONDS = 0.02


def _let_runtime_settle() -> None:
    """Give OpenDAL's Tokio worker threads a moment to finish before Python finalizes.

    The binding's runtime has no shutdown call: a worker still releasing a Python
    object of an operation that has already completed when finalization starts aborts
    the process (exit status 134), in about one short-lived program in ten here. Exit
    handlers run while the interpreter is still whole, so a short pause lets that
    tail finish.
    """
    time.sleep(_SETTLE_SECONDS)


def _summary(exc: BaseException) -> str:
    """The first line of an OpenDAL error plus its list of available schemes, if any."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    summary = lines[0]
    for line in lines[1:]:
        if line.startswith("available:"):
            summary += "; " + line
    return summary
