"""A bounded look-ahead buffer for checking streamed text across chunk boundaries.

A match (an email address, a card number) can start in one chunk and end in a later
one. `TextLookahead` holds back the last `size` characters of what has arrived, plus
any match that reaches into them, and releases the rest with matches replaced. A match
longer than `size` characters may be released in parts, unseen: choose `size` above
the longest thing you look for.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["Finder", "TextLookahead", "apply_matches"]

Finder = Callable[[str], list[tuple[int, int, str]]]
"""Text in, the matches out: (start, end, replacement), sorted, not overlapping."""


class TextLookahead:
    __slots__ = ("find", "pending", "size")

    def __init__(self, find: Finder, size: int) -> None:
        self.find = find
        self.size = size
        self.pending = ""

    def push(self, text: str) -> str:
        """Add streamed text; return what is safe to send now (already rewritten)."""
        pending = self.pending + text
        cut = len(pending) - self.size
        if cut <= 0:
            self.pending = pending
            return ""
        matches = self.find(pending)
        for start, end, _ in matches:
            if start < cut < end:
                cut = start
                break
        released = apply_matches(pending[:cut], [m for m in matches if m[1] <= cut])
        self.pending = pending[cut:]
        return released

    def flush(self) -> str:
        """The end of the text: everything held, rewritten."""
        pending, self.pending = self.pending, ""
        return apply_matches(pending, self.find(pending)) if pending else ""


def apply_matches(text: str, matches: list[tuple[int, int, str]]) -> str:
    if not matches:
        return text
    parts: list[str] = []
    position = 0
    for start, end, replacement in matches:
        parts.append(text[position:start])
        parts.append(replacement)
        position = end
    parts.append(text[position:])
    return "".join(parts)
