"""The access log: one structured line per request, plain `key=value` pairs or JSON lines.

The app fills one `AccessRecord` when a response is done (after the last byte of a
stream) and calls `AccessLog.log(record)`. Nothing is formatted when the log is
disabled, or when it writes to a `logging.Logger` that would drop INFO.

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

`key` is the key's label (`literllm.redact.key_label`: its description or
`key-<hash>`), never the token; a `Redactor` given to `AccessLog` scrubs each line
as a last line of defence. `cache` is `hit`, `miss`, `bypass` or absent (no cache
involved); `route` is what the `x-literllm-route` response header says.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from typing import Final, Literal, Protocol, TextIO

import msgspec

__all__ = ["AccessLog", "AccessRecord", "LogFormat"]

LogFormat = Literal["plain", "json"]
CacheState = Literal["hit", "miss", "bypass"]

_BARE_VALUE: Final = re.compile(r"[!#-<>-\[\]-~]+")
"""Printable ASCII without space, `"`, `=` and backslash: written unquoted."""


class Scrubber(Protocol):
    """What `literllm.redact.Redactor` offers."""

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


def _iso(timestamp: float) -> str:
    seconds, millis = divmod(round(timestamp * 1000), 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


def _quote(value: str) -> str:
    if _BARE_VALUE.fullmatch(value):
        return value
    return msgspec.json.encode(value).decode()


def _text(value: str | None) -> str:
    return "-" if value is None else _quote(value)


def _number(value: int | None) -> str:
    return "-" if value is None else str(value)


def _cost(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.8f}".rstrip("0").rstrip(".") or "0"


def format_plain(record: AccessRecord) -> str:
    return (
        f"ts={_iso(record.timestamp)} request_id={_quote(record.request_id)}"
        f" method={_quote(record.method)} path={_quote(record.path)}"
        f" key={_text(record.key)} model={_text(record.model)}"
        f" deployment={_text(record.deployment)} status={record.status}"
        f" latency_ms={record.latency_ms:.2f} tokens_in={_number(record.tokens_in)}"
        f" tokens_out={_number(record.tokens_out)} cost={_cost(record.cost)}"
        f" cache={record.cache or '-'} route={_text(record.route)}"
    )


class AccessLog:
    """Writes access lines to a text stream (default: standard error, looked up when
    the log is built) or to a `logging.Logger` at INFO."""

    __slots__ = ("_encoder", "_logger", "_redactor", "_stream", "enabled", "format")

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
        self._logger: logging.Logger | None = None
        self._stream: TextIO | None = None
        if isinstance(stream, logging.Logger):
            self._logger = stream
        else:
            self._stream = stream if stream is not None else sys.stderr

    def render(self, record: AccessRecord) -> str:
        """The line for `record`, without a newline, scrubbed."""
        if self.format == "json":
            encoded = self._encoder.encode(record)
            line = f'{{"ts":"{_iso(record.timestamp)}",{encoded[1:].decode()}'
        else:
            line = format_plain(record)
        return self._redactor.scrub(line) if self._redactor is not None else line

    def log(self, record: AccessRecord) -> None:
        if not self.enabled:
            return
        logger = self._logger
        if logger is not None:
            if logger.isEnabledFor(logging.INFO):
                logger.info(self.render(record))
        elif self._stream is not None:
            self._stream.write(self.render(record) + "\n")
