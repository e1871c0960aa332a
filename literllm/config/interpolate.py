"""`${VAR}` interpolation on the raw TOML text, remembering where each substitution went.

A reference is `${NAME}` where NAME is `[A-Za-z_][A-Za-z0-9_]*`; it becomes the
variable's value, or the empty string when the variable is unset. Everything else is
left exactly as written: `$VAR`, a lone `$`, `${` with no closing brace, `${}`,
`${not a name}`. Nested braces are not a second level of lookup: in `${A${B}}` only
`${B}` is a reference, so the result is `${A` + value of B + `}`. Values are inserted
verbatim and never re-scanned.
"""

from __future__ import annotations

import bisect
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["Interpolated", "interpolate", "interpolate_with_positions"]

_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class Interpolated:
    """The interpolated text, plus enough bookkeeping to map offsets back to the raw text."""

    raw: str
    text: str
    # (offset in `text`, offset in `raw`, length in `text`, length in `raw`) per substitution
    substitutions: tuple[tuple[int, int, int, int], ...]
    # (variable name, index into `substitutions`) of each reference to an unset variable
    unset: tuple[tuple[str, int], ...] = ()

    def raw_offset(self, offset: int) -> int:
        """Map an offset in the interpolated text to the raw text.

        Offsets inside a substituted value map to the `$` that produced it.
        """
        starts = [sub[0] for sub in self.substitutions]
        index = bisect.bisect_right(starts, offset) - 1
        if index < 0:
            return offset
        text_start, raw_start, text_len, raw_len = self.substitutions[index]
        if offset < text_start + text_len:
            return raw_start
        return raw_start + raw_len + (offset - text_start - text_len)

    def raw_position(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) in the raw text of an offset in the interpolated text."""
        return line_and_column(self.raw, self.raw_offset(offset))


def line_and_column(text: str, offset: int) -> tuple[int, int]:
    offset = max(0, min(offset, len(text)))
    line_start = text.rfind("\n", 0, offset) + 1
    return text.count("\n", 0, offset) + 1, offset - line_start + 1


def interpolate_with_positions(text: str, environ: Mapping[str, str]) -> Interpolated:
    pieces: list[str] = []
    substitutions: list[tuple[int, int, int, int]] = []
    unset: list[tuple[str, int]] = []
    raw_pos = 0
    text_len = 0
    for match in _REFERENCE.finditer(text):
        before = text[raw_pos : match.start()]
        pieces.append(before)
        text_len += len(before)
        value = environ.get(match.group(1))
        if value is None:
            unset.append((match.group(1), len(substitutions)))
            value = ""
        substitutions.append((text_len, match.start(), len(value), match.end() - match.start()))
        pieces.append(value)
        text_len += len(value)
        raw_pos = match.end()
    pieces.append(text[raw_pos:])
    return Interpolated(
        raw=text, text="".join(pieces), substitutions=tuple(substitutions), unset=tuple(unset)
    )


def interpolate(text: str, environ: Mapping[str, str] | None = None) -> str:
    """The interpolated text; `environ` defaults to `os.environ`, read at call time."""
    return interpolate_with_positions(text, os.environ if environ is None else environ).text
