"""Access log lines in both formats; nothing formatted when the log is off."""

from __future__ import annotations

import io
import logging
import re

import msgspec
import pytest

from literllm.observability.redact import Redactor
from literllm_server.accesslog import AccessLog, AccessRecord

RECORD = AccessRecord(
    timestamp=1767268800.123,
    request_id="req-1",
    method="POST",
    path="/v1/chat/completions",
    status=200,
    latency_ms=812.4,
    key="Frontend team",
    model="gpt-4o",
    deployment="gpt-4o#0",
    tokens_in=120,
    tokens_out=48,
    cost=0.00078,
    cache="miss",
    route="pool",
)
LOGFMT_PAIR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)')


def parse_logfmt(line: str) -> dict[str, str]:
    pairs = {}
    for name, raw in LOGFMT_PAIR.findall(line):
        pairs[name] = msgspec.json.decode(raw) if raw.startswith('"') else raw
    return pairs


def test_plain_line() -> None:
    stream = io.StringIO()
    AccessLog("plain", stream).log(RECORD)
    line = stream.getvalue()
    assert line.endswith("\n") and line.count("\n") == 1
    assert parse_logfmt(line) == {
        "ts": "2026-01-01T12:00:00.123Z",
        "request_id": "req-1",
        "method": "POST",
        "path": "/v1/chat/completions",
        "key": "Frontend team",
        "model": "gpt-4o",
        "deployment": "gpt-4o#0",
        "status": "200",
        "latency_ms": "812.40",
        "tokens_in": "120",
        "tokens_out": "48",
        "cost": "0.00078",
        "cache": "miss",
        "route": "pool",
    }


def test_plain_absent_values_and_hostile_path() -> None:
    record = AccessRecord(
        timestamp=0,
        request_id="r 2",
        method="GET",
        path='/x\nts=forged key="admin"',
        status=404,
        latency_ms=0.1,
    )
    line = AccessLog("plain", io.StringIO()).render(record)
    assert "\n" not in line
    pairs = parse_logfmt(line)
    assert pairs["path"] == '/x\nts=forged key="admin"'
    assert pairs["request_id"] == "r 2"
    assert pairs["ts"] == "1970-01-01T00:00:00.000Z"
    for name in ("key", "model", "deployment", "tokens_in", "tokens_out", "cost", "cache"):
        assert pairs[name] == "-"


def test_one_log_formats_each_line_afresh() -> None:
    """Remembered seconds and quoted values never leak into a later line."""
    log = AccessLog("plain", io.StringIO())
    times = [1767268799.9994, 1767268799.9995, 1767268800.0004, 1767268800.999, 0.0]
    stamps = [parse_logfmt(log.render(msgspec.structs.replace(RECORD, timestamp=t)))["ts"]
              for t in times]  # fmt: skip
    assert stamps == [
        "2026-01-01T11:59:59.999Z",
        "2026-01-01T12:00:00.000Z",
        "2026-01-01T12:00:00.000Z",
        "2026-01-01T12:00:00.999Z",
        "1970-01-01T00:00:00.000Z",
    ]
    paths = [f"/v1/x y/{n}" for n in range(1000)] + ["/v1/x y/0", "/v1/models"]
    for path in paths:
        line = log.render(msgspec.structs.replace(RECORD, path=path, model=None))
        assert parse_logfmt(line)["path"] == path and parse_logfmt(line)["model"] == "-"


def test_json_line() -> None:
    stream = io.StringIO()
    AccessLog("json", stream).log(RECORD)
    line = stream.getvalue()
    assert line.count("\n") == 1
    decoded = msgspec.json.decode(line)
    assert decoded == {
        "ts": "2026-01-01T12:00:00.123Z",
        "timestamp": 1767268800.123,
        "request_id": "req-1",
        "method": "POST",
        "path": "/v1/chat/completions",
        "status": 200,
        "latency_ms": 812.4,
        "key": "Frontend team",
        "model": "gpt-4o",
        "deployment": "gpt-4o#0",
        "tokens_in": 120,
        "tokens_out": 48,
        "cost": 0.00078,
        "cache": "miss",
        "route": "pool",
    }


def test_json_absent_values_are_null() -> None:
    record = AccessRecord(timestamp=0, request_id="r", method="GET", path="/", status=401,
                          latency_ms=0.1)  # fmt: skip
    decoded = msgspec.json.decode(AccessLog("json", io.StringIO()).render(record))
    assert decoded["key"] is None and decoded["cache"] is None and decoded["cost"] is None


class Explodes:
    """A record stand-in whose every attribute read fails: proves nothing is formatted."""

    def __getattr__(self, name: str) -> object:
        raise AssertionError(f"formatted {name}")


def test_disabled_formats_nothing() -> None:
    stream = io.StringIO()
    AccessLog("json", stream, enabled=False).log(Explodes())  # type: ignore[arg-type]
    assert stream.getvalue() == ""


def test_logger_below_info_formats_nothing(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("literllm.test.access.quiet")
    logger.setLevel(logging.WARNING)
    AccessLog("plain", logger).log(Explodes())  # type: ignore[arg-type]


def test_logger_at_info_gets_the_line(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("literllm.test.access")
    with caplog.at_level(logging.INFO, logger=logger.name):
        AccessLog("json", logger).log(RECORD)
    (entry,) = caplog.records
    assert msgspec.json.decode(entry.getMessage())["request_id"] == "req-1"


@pytest.mark.parametrize(
    "field", ["request_id", "method", "path", "key", "model", "deployment", "route"]
)
def test_redactor_scrubs_every_text_field(field: str) -> None:
    secret = "vk-leaked-into-a-field-123"
    record = msgspec.structs.replace(RECORD, **{field: f"x/{secret}"})
    for fmt in ("plain", "json"):
        stream = io.StringIO()
        log = AccessLog(fmt, stream, redactor=Redactor([secret]))  # type: ignore[arg-type]
        log.log(record)
        log.log(record)  # the second time from the formatter's memory
        assert secret not in stream.getvalue()
        assert stream.getvalue().count("x/***") == 2


def test_redactor_scrubs_lines() -> None:
    secret = "vk-leaked-into-path-123"
    record = msgspec.structs.replace(RECORD, path=f"/v1/models/{secret}")
    for fmt in ("plain", "json"):
        stream = io.StringIO()
        AccessLog(fmt, stream, redactor=Redactor([secret])).log(record)  # type: ignore[arg-type]
        assert secret not in stream.getvalue()
        assert "/v1/models/***" in stream.getvalue()


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="plain"):
        AccessLog("xml")  # type: ignore[arg-type]


class CountingStream(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


async def test_lines_of_one_loop_iteration_leave_in_one_write() -> None:
    import asyncio

    stream = CountingStream()
    log = AccessLog("plain", stream)
    for _ in range(3):
        log.log(RECORD)
    assert stream.writes == 0  # waiting for the end of this iteration
    await asyncio.sleep(0)
    assert stream.writes == 1 and stream.getvalue().count("\n") == 3
    log.log(RECORD)
    log.flush()  # what the app does at shutdown
    assert stream.writes == 2 and stream.getvalue().count("\n") == 4
    await asyncio.sleep(0)
    assert stream.writes == 2  # nothing left over to write twice
