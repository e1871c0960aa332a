"""Incremental server-sent-events parsing: bytes in any split, events out."""

from __future__ import annotations

from ..errors import UpstreamError

__all__ = ["SSEChunkDecoder", "SSEEvent", "SSEParser"]


class SSEEvent:
    __slots__ = ("data", "event")

    def __init__(self, event: str | None, data: bytes) -> None:
        self.event = event
        self.data = data

    def __repr__(self) -> str:
        return f"SSEEvent(event={self.event!r}, data={self.data!r})"


class SSEParser:
    """Feed raw bytes; get back every event completed by them."""

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, data: bytes) -> list[SSEEvent]:
        buffer = self._buffer + data if self._buffer else data
        held = b""
        if buffer.endswith(b"\r"):
            # The "\n" of a "\r\n" may arrive with the next bytes: decide then.
            buffer, held = buffer[:-1], b"\r"
        if b"\r" in buffer:
            buffer = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        events: list[SSEEvent] = []
        start = 0
        while True:
            end = buffer.find(b"\n\n", start)
            if end < 0:
                break
            event = _parse_block(buffer[start:end])
            if event is not None:
                events.append(event)
            start = end + 2
        self._buffer = buffer[start:] + held
        return events

    def payloads(self, data: bytes) -> list[bytes]:
        """Like `feed`, but only the non-empty `data` of each event (names dropped).

        The common run, nothing but one-line `data: ...` events, is split in one C call;
        anything else goes through the full parser.
        """
        buffer = self._buffer + data if self._buffer else data
        held = b""
        if buffer.endswith(b"\r"):
            buffer, held = buffer[:-1], b"\r"
        if b"\r" in buffer:
            buffer = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        end = buffer.rfind(b"\n\n")
        if end < 0:
            self._buffer = buffer + held
            return []
        complete = buffer[:end]
        self._buffer = buffer[end + 2 :] + held
        if complete.startswith(b"data: "):
            items = complete[6:].split(b"\n\ndata: ")
            # every newline is part of a separator: no multi-line or other fields
            if complete.count(b"\n") == 2 * len(items) - 2:
                return items if all(items) else [item for item in items if item]
        out: list[bytes] = []
        for block in complete.split(b"\n\n"):
            event = _parse_block(block)
            if event is not None and event.data:
                out.append(event.data)
        return out

    def close(self) -> list[SSEEvent]:
        """Flush a final event that was not followed by a blank line."""
        rest, self._buffer = self._buffer.replace(b"\r", b"\n").strip(b"\n"), b""
        if not rest:
            return []
        event = _parse_block(rest)
        return [event] if event is not None else []


def _parse_block(block: bytes) -> SSEEvent | None:
    event: str | None = None
    data: list[bytes] = []
    for line in block.split(b"\n"):
        if not line or line[0] == 0x3A:  # ":" starts a comment
            continue
        name, _, value = line.partition(b":")
        if value[:1] == b" ":
            value = value[1:]
        if name == b"data":
            data.append(value)
        elif name == b"event":
            event = value.decode("utf-8", "replace")
    if not data and event is None:
        return None
    return SSEEvent(event, b"\n".join(data))


class SSEChunkDecoder:
    """The loop native SSE decoders share: each event's data becomes OpenAI chunks.

    Subclasses set `self._parser = SSEParser()` and `self._provider`, and define
    `_on_event(data)`, `_complete()` (did the stream end properly?) and `_ending` (what
    a proper end looks like, for the error); `_tail()` may add chunks at the end.
    """

    _parser: SSEParser
    _provider: str
    _ending: str = "its end"

    def _on_event(self, data: bytes) -> list[bytes]:
        raise NotImplementedError

    def _complete(self) -> bool:
        raise NotImplementedError

    def _tail(self) -> list[bytes]:
        return []

    def feed(self, data: bytes) -> list[bytes]:
        out: list[bytes] = []
        for event in self._parser.feed(data):
            out.extend(self._on_event(event.data))
        return out

    def close(self) -> list[bytes]:
        out: list[bytes] = []
        for event in self._parser.close():
            out.extend(self._on_event(event.data))
        if not self._complete():
            raise UpstreamError(
                f"provider {self._provider!r} ended the stream before {self._ending}",
                status=502,
                retryable=False,
            )
        out.extend(self._tail())
        return out
