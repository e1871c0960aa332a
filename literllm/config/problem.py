"""A configuration problem found after parsing, before it has a line and column."""

from __future__ import annotations

from .locate import Path

__all__ = ["ConfigProblem"]


class ConfigProblem(Exception):
    """`message` reads `<what> in <table>; expected ...`; `path` says where it is."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message
