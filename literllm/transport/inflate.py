"""gzip and deflate bodies inflated a bounded step at a time.

An upstream controls how far its body inflates (a 1 MB gzip body can become 1 GB), so
nothing here inflates more than `step(limit)` bytes per call; what is left waits as
compressed input until the reader asks again. A gzip body may hold several members, one
after another (RFC 1952 section 2.2): each is inflated in turn.
"""

from __future__ import annotations

import zlib

__all__ = ["STEP", "BodyDecoder"]

STEP = 65536
"""Most bytes one inflation step produces."""


class BodyDecoder:
    """A gzip or deflate body, fed as it arrives and drained in bounded steps."""

    __slots__ = ("_gzip", "_inflate", "_pending", "_raw_fallback", "_started")

    def __init__(self, coding: str) -> None:
        self._gzip = coding != "deflate"
        # 47: a gzip or zlib header, detected; a bare deflate stream is tried below
        self._inflate = zlib.decompressobj(47 if self._gzip else 15)
        self._raw_fallback = not self._gzip
        self._started = False
        self._pending = b""

    @property
    def pending(self) -> bool:
        """Whether compressed input is still waiting to be inflated."""
        return bool(self._pending)

    def feed(self, data: bytes) -> None:
        self._pending = self._pending + data if self._pending else data

    def step(self, limit: int = STEP) -> bytes:
        """Up to `limit` inflated bytes; b"" once the input fed so far is used up.

        zlib.error for a corrupt body.
        """
        while self._pending:
            inflate = self._inflate
            if inflate.eof:
                if not self._gzip:
                    raise zlib.error("bytes after the end of the deflate body")
                inflate = self._inflate = zlib.decompressobj(47)  # the next gzip member
            data = self._pending
            try:
                out = inflate.decompress(data, limit)
            except zlib.error:
                if not self._raw_fallback or self._started:
                    raise
                self._raw_fallback = False  # a bare deflate stream, as some servers send
                inflate = self._inflate = zlib.decompressobj(-15)
                out = inflate.decompress(data, limit)
            self._started = True
            self._pending = inflate.unused_data if inflate.eof else inflate.unconsumed_tail
            if out:
                return out
        return b""
