"""The access log: one structured line per request, plain `key=value` pairs or JSON lines.

The app fills one `AccessRecord` when a response is done (after the last byte of a
stream) and calls `AccessLog.log(record)`. Nothing is formatted when the log is
disabled, or when it writes to a `logging.Logger` that would drop INFO. Lines logged in
one event-loop iteration are written together at its end (one system call, not one per
request); `flush()` writes them at once.

Plain (`--log-format plain`, logfmt: values with spaces, quotes, `=` or control
characters are JSON-quoted, so a client-chosen path cannot forge a line; absent
values print as `-`)::

    ts=2026-01-01T12:00:00.123Z request_id=req-1 method=POST path=/v1/chat/completions
    key="Frontend team" model=gpt-4o deployment=gpt-4o#0 status=200 latency_ms=812.40
    tokens_in=120 tokens_out=48 cost=0.00078 cache=miss route=pool

(one line in the output). JSON lines (`--log-format json`)::

    {"ts":"2026-01-01T12:00:00.123Z","timestamp":1767268800.123,"request_id":"req-1",
     "method":"POST","path":"/v1/chat/completions","status":200,"latency_ms":812.4,
     "key":"Frontend team","model":"gpt-4o","deployment":"gpt-4o#0","tokens_in":120,
     "tokens_out":48,"cost":0.00078,"cache":"miss","route":"pool"}

`key` is the key's label (`literllm.observability.redact.key_label`: its description or
`key-<hash>`), never the token; a `Redactor` given to `AccessLog` scrubs each line
as a last line of defence. `cache` is `hit`, `miss`, `bypass` or absent (no cache
involved); `route` is what the `x-literllm-route` response header says.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
import time
from collections.abc import Callable
from typing import Final, Literal, Protocol, TextIO

import msgspec

__all__ = ["AccessLog", "AccessRecord", "LogFormat"]

LogFormat = Literal["plain", "json"]
CacheState = Literal["hit", "miss", "bypass"]

_BARE_VALUE: Final = re.compile(r"[!#-<>-\[\]-~]+")
"""Printable ASCII without space, `"`, `=` and backslash: written unquoted."""
_MILLIS_SUFFIXES: Final = tuple(f".{millis:03d}Z" for millis in range(1000))
"""`.000Z` to `.999Z`: indexing is cheaper than formatting the number each time."""


class Scrubber(Protocol):
    """What `literllm.observability.redact.Redactor` offers."""

    def scrub(self, text: str) -> str: ...


class AccessRecord(msgspec.Struct, kw_only=True):
    timestamp: float
    """When the request arrived, seconds since the epoch."""
    request_id: str
    method: str
    path: str
    status: int
    latency_ms: float
    key: str | None = None
    """The key's label (description or `key-<hash>`), never the token."""
    model: str | None = None
    deployment: str | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    cost: float | None = None
    cache: CacheState | None = None
    route: str | None = None


def _quote(value: str) -> str:
    if _BARE_VALUE.fullmatch(value):
        return value
    return msgspec.json.encode(value).decode()


def _cost(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.8f}".rstrip("0").rstrip(".") or "0"


class _Formatter:
    """Formats once what recurs from line to line: the timestamp's whole second, and
    quoted values such as the model, key and path (at most `MAX_REMEMBERED_VALUES` of
    them, so client-chosen paths cannot grow it)."""

    MAX_REMEMBERED_VALUES: Final = 512

    __slots__ = ("_last_second", "_quoted", "_scrub")

    def __init__(self, scrub: Callable[[str], str] | None = None) -> None:
        self._scrub = scrub
        self._quoted: dict[str, str] = {}
        # one attribute, so a second and its text are always read together
        self._last_second: tuple[int | None, str] = (None, "")

    def iso(self, timestamp: float) -> str:
        seconds, millis = divmod(round(timestamp * 1000), 1000)
        last, text = self._last_second
        if seconds != last:
            text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
            self._last_second = (seconds, text)
        return text + _MILLIS_SUFFIXES[millis]

    def text(self, value: str | None) -> str:
        if value is None:
            return "-"
        quoted = self._quoted.get(value)
        if quoted is None:
            quoted = _quote(value)
            if self._scrub is not None:
                quoted = self._scrub(quoted)
            if len(self._quoted) < self.MAX_REMEMBERED_VALUES:
                self._quoted[value] = quoted
        return quoted

    def plain(self, record: AccessRecord) -> str:
        """The logfmt line, every text value scrubbed (numbers and times are ours)."""
        text = self.text
        tokens_in = record.tokens_in
        tokens_out = record.tokens_out
        request_id = _quote(record.request_id)  # unique: scrubbed, never remembered
        if self._scrub is not None:
            request_id = self._scrub(request_id)
        return (
            f"ts={self.iso(record.timestamp)} request_id={request_id}"
            f" method={text(record.method)} path={text(record.path)}"
            f" key={text(record.key)} model={text(record.model)}"
            f" deployment={text(record.deployment)} status={record.status}"
            f" latency_ms={record.latency_ms:.2f}"
            f" tokens_in={'-' if tokens_in is None else tokens_in}"
            f" tokens_out={'-' if tokens_out is None else tokens_out} cost={_cost(record.cost)}"
            f" cache={record.cache or '-'} route={text(record.route)}"
        )


class AccessLog:
    """Writes access lines to a text stream (default: standard error, looked up when
    the log is built) or to a `logging.Logger` at INFO."""

    __slots__ = (
        "_encoder",
        "_formatter",
        "_logger",
        "_pending",
        "_redactor",
        "_stream",
        "enabled",
        "format",
    )

    def __init__(
        self,
        format: LogFormat = "plain",
        stream: TextIO | logging.Logger | None = None,
        *,
        enabled: bool = True,
        redactor: Scrubber | None = None,
    ) -> None:
        if format not in ("plain", "json"):
            raise ValueError(f"log format must be 'plain' or 'json', not {format!r}")
        self.format: LogFormat = format
        self.enabled = enabled
        self._redactor = redactor
        self._encoder = msgspec.json.Encoder()
        self._formatter = _Formatter(redactor.scrub if redactor is not None else None)
        self._logger: logging.Logger | None = None
        self._stream: TextIO | None = None
        self._pending: list[str] | None = None
        if isinstance(stream, logging.Logger):
            self._logger = stream
        else:
            self._stream = stream if stream is not None else sys.stderr

    def render(self, record: AccessRecord) -> str:
        """The line for `record`, without a newline, scrubbed."""
        if self.format == "plain":
            return self._formatter.plain(record)  # scrubbed value by value
        encoded = self._encoder.encode(record)
        line = f'{{"ts":"{self._formatter.iso(record.timestamp)}",{encoded[1:].decode()}'
        return self._redactor.scrub(line) if self._redactor is not None else line

    def log(self, record: AccessRecord) -> None:
        if not self.enabled:
            return
        logger = self._logger
        if logger is not None:
            if logger.isEnabledFor(logging.INFO):
                logger.info(self.render(record))
        elif self._stream is not None:
            self._write(self.render(record) + "\n")

    def _write(self, line: str) -> None:
        """Lines logged in one event-loop iteration leave in one write at its end (one
        system call instead of one per request); outside a loop, at once."""
        pending = self._pending
        if pending is not None:
            pending.append(line)
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            assert self._stream is not None
            self._stream.write(line)
            return
        self._pending = [line]
        loop.call_soon(self.flush)

    def flush(self) -> None:
        """Write what is waiting for the end of the loop iteration (the app calls this
        at shutdown too)."""
        pending, self._pending = self._pending, None
        if pending and self._stream is not None:
            self._stream.write("".join(pending))
