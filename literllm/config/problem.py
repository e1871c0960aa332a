"""A configuration problem found after parsing, before it has a line and column."""

from __future__ import annotations

from typing import Literal

from .locate import Path

__all__ = ["ConfigProblem", "Severity"]

Severity = Literal["error", "warning"]


class ConfigProblem(Exception):
    """`message` reads `<what> in <table>; expected ...`; `path` says where it is.

    `raw_offset`, when set, is an exact offset in the file as written (it wins over `path`);
    a `warning` loads, an `error` refuses the file.
    """

    def __init__(
        self,
        path: Path,
        message: str,
        *,
        severity: Severity = "error",
        raw_offset: int | None = None,
    ) -> None:
        super().__init__(message)
        self.path = path
        self.message = message
        self.severity: Severity = severity
        self.raw_offset = raw_offset
