"""Where in the TOML text a value lives, so errors can name a line and column.

`tomllib` returns plain dicts without positions, so this module scans the same text
(already accepted by `tomllib`) and records the offset of every table header, every
`key =` (dotted keys and inline tables included) and every array item, under its
absolute path: `("models", 1, "name")` is the `name =` of the second `[[models]]`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

__all__ = ["Path", "find_offset", "key_offsets", "table_name"]

PathPart = str | int
Path = tuple[PathPart, ...]

_BARE_KEY_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_SCALAR_END = frozenset(",]}#\n")


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.offsets: dict[Path, int] = {}
        self.array_tables: dict[Path, int] = {}

    def peek(self, size: int = 1) -> str:
        return self.text[self.pos : self.pos + size]

    def skip_blank(self, *, newlines: bool) -> None:
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "#":
                end = self.text.find("\n", self.pos)
                self.pos = len(self.text) if end < 0 else end
            elif char in " \t\r" or (newlines and char == "\n"):
                self.pos += 1
            else:
                return

    def record(self, path: Path, offset: int) -> None:
        self.offsets.setdefault(path, offset)

    def document(self) -> None:
        table: Path = ()
        while True:
            self.skip_blank(newlines=True)
            if self.pos >= len(self.text):
                return
            start = self.pos
            if self.peek(2) == "[[":
                self.pos += 2
                keys = self.dotted_key()
                self.pos = self.text.index("]]", self.pos) + 2
                array = (*self.resolve(keys[:-1]), keys[-1])
                index = self.array_tables.get(array, 0)
                self.array_tables[array] = index + 1
                table = (*array, index)
                self.record(table, start)
            elif self.peek() == "[":
                self.pos += 1
                table = self.resolve(self.dotted_key())
                self.pos = self.text.index("]", self.pos) + 1
                self.record(table, start)
            else:
                self.key_value(table)

    def resolve(self, keys: Sequence[str]) -> Path:
        """Absolute path of a header's keys: array-of-tables names gain their last index."""
        path: Path = ()
        for key in keys:
            path = (*path, key)
            count = self.array_tables.get(path)
            if count:
                path = (*path, count - 1)
        return path

    def dotted_key(self) -> list[str]:
        keys = []
        while True:
            self.skip_blank(newlines=False)
            keys.append(self.simple_key())
            self.skip_blank(newlines=False)
            if self.peek() != ".":
                return keys
            self.pos += 1

    def simple_key(self) -> str:
        quote = self.peek()
        if quote in "\"'" and quote:
            return self.string()
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] in _BARE_KEY_CHARS:
            self.pos += 1
        if self.pos == start:
            raise ValueError("expected a key")
        return self.text[start : self.pos]

    def key_value(self, table: Path) -> None:
        start = self.pos
        path = (*table, *self.dotted_key())
        self.skip_blank(newlines=False)
        self.pos += 1  # the "="
        self.skip_blank(newlines=False)
        self.record(path, start)
        self.value(path)

    def value(self, path: Path) -> None:
        char = self.peek()
        if char in "\"'" and char:
            self.string()
        elif char == "[":
            self.array(path)
        elif char == "{":
            self.inline_table(path)
        else:
            while self.pos < len(self.text) and self.text[self.pos] not in _SCALAR_END:
                self.pos += 1

    def array(self, path: Path) -> None:
        self.pos += 1
        index = 0
        while True:
            self.skip_blank(newlines=True)
            if self.peek() == "]":
                self.pos += 1
                return
            self.record((*path, index), self.pos)
            self.value((*path, index))
            index += 1
            self.skip_blank(newlines=True)
            if self.peek() == ",":
                self.pos += 1

    def inline_table(self, path: Path) -> None:
        self.pos += 1
        while True:
            self.skip_blank(newlines=True)
            if self.peek() == "}":
                self.pos += 1
                return
            self.key_value(path)
            self.skip_blank(newlines=True)
            if self.peek() == ",":
                self.pos += 1

    def string(self) -> str:
        quote = self.text[self.pos]
        if self.peek(3) == quote * 3:
            end = self.text.index(quote * 3, self.pos + 3)
            while self.text[end + 3 : end + 4] == quote:  # up to two quotes may close it
                end += 1
            body = self.text[self.pos + 3 : end]
            self.pos = end + 3
            return body
        if quote == "'":
            end = self.text.index("'", self.pos + 1)
            body = self.text[self.pos + 1 : end]
            self.pos = end + 1
            return body
        return self.basic_string()

    def basic_string(self) -> str:
        self.pos += 1
        chars: list[str] = []
        while self.text[self.pos] != '"':
            if self.text[self.pos] == "\\":
                escape = self.text[self.pos + 1]
                width = {"u": 4, "U": 8}.get(escape)
                if width is not None:
                    chars.append(chr(int(self.text[self.pos + 2 : self.pos + 2 + width], 16)))
                    self.pos += 2 + width
                    continue
                chars.append(
                    {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}.get(escape, escape)
                )
                self.pos += 2
                continue
            chars.append(self.text[self.pos])
            self.pos += 1
        self.pos += 1
        return "".join(chars)


def key_offsets(text: str) -> dict[Path, int]:
    """Offsets of headers, keys and array items by absolute path.

    Meant for text that `tomllib` accepted; on anything else it returns what it found
    before getting lost, never raises.
    """
    scanner = _Scanner(text)
    with contextlib.suppress(ValueError, IndexError, OverflowError):
        scanner.document()
    return scanner.offsets


def find_offset(offsets: dict[Path, int], path: Path) -> int:
    """Offset of `path`, else of its closest recorded ancestor, else the start of the text."""
    for size in range(len(path), 0, -1):
        offset = offsets.get(path[:size])
        if offset is not None:
            return offset
    return 0


def table_name(path: Path) -> str:
    """`[server]`, `[[models]] #2`, `[budget.model_limits]`; the root is `the top level`."""
    if not path:
        return "the top level"
    if isinstance(path[-1], int):
        names = ".".join(str(part) for part in path[:-1])
        return f"[[{names}]] #{path[-1] + 1}"
    return "[" + ".".join(str(part) for part in path) + "]"
