"""Differential fuzzing of the HTTP client's framing against h11.

Hypothesis builds response byte streams (valid and broken status lines, headers,
Content-Length and chunked framing, interim responses, bytes after the end, random
damage) and splits them at random points. Our connection reads them sans-I/O (bytes fed
straight into `Connection.data_received`, then the end of file); h11, as the oracle,
reads the same bytes. Ours may be stricter, never looser:

* when h11 refuses the stream, ours refuses it too;
* when ours accepts it, h11 accepted it with the same status and the same body;
* when ours would reuse the connection, h11 would too (keep-alive, both sides done,
  not one byte after the response).

Bounded: a few hundred examples, well under a minute.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass

import h11
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from literllm.transport.wire import MAX_HEADER_BYTES, Connection, Limits


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status: int = 0
    body: bytes = b""
    reusable: bool = False


REFUSED = Outcome(ok=False)


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


async def ours(method: str, pieces: list[bytes]) -> Outcome:
    connection = Connection(("http", "upstream.test", 80), Limits(1 << 20, 1 << 20))
    waiter = connection.begin(streaming=False, head=method == "HEAD")
    for piece in pieces:
        if connection.closed:
            break  # we closed the socket: nothing more arrives
        connection.data_received(piece)
    reusable = connection.reusable()
    if not connection.complete and connection.error is None and not connection.closed:
        connection.connection_lost(None)  # the server's end of file
    if waiter.done() and not waiter.cancelled():
        waiter.exception()  # seen: no "never retrieved" warning
    if connection.error is not None or not connection.complete:
        return REFUSED
    return Outcome(True, connection.status, b"".join(connection.body), reusable)


def oracle(method: str, pieces: list[bytes]) -> Outcome:
    conn = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEADER_BYTES)
    headers = [("Host", "upstream.test")]
    if method == "POST":
        headers.append(("Content-Length", "0"))
    conn.send(h11.Request(method=method, target="/", headers=headers))
    conn.send(h11.EndOfMessage())
    status = 0
    body: list[bytes] = []
    done = False

    def pump() -> bool:
        nonlocal status
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA or event is h11.PAUSED:
                return False
            if isinstance(event, h11.Response):
                status = event.status_code
            elif isinstance(event, h11.Data):
                body.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                return True
            elif isinstance(event, h11.ConnectionClosed):
                return False

    try:
        for piece in pieces:
            conn.receive_data(piece)
            done = done or pump()
        reusable = (
            done
            and conn.our_state is h11.DONE
            and conn.their_state is h11.DONE
            and not conn.trailing_data[0]
        )
        if not done:
            conn.receive_data(b"")
            done = pump()
    except h11.RemoteProtocolError:
        return REFUSED
    if not done:
        return REFUSED
    return Outcome(True, status, b"".join(body), bool(reusable))


# --- what a server might send ---------------------------------------------------------

PRINTABLE = "".join(chr(c) for c in range(0x20, 0x7F))
EOL = st.sampled_from([b"\r\n"] * 8 + [b"\n", b"\r"])
TOKEN = st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_", min_size=1)


@st.composite
def status_lines(draw: st.DrawFn, status: int | None = None) -> bytes:
    version = draw(st.sampled_from([b"HTTP/1.1"] * 6 + [b"HTTP/1.0", b"HTTP/2.0", b"HTTP/1.x"]))
    code = (
        status
        if status is not None
        else draw(st.sampled_from([200] * 6 + [201, 204, 206, 304, 404, 429, 500, 599, 99, 1000]))
    )
    reason = draw(st.sampled_from([b" OK", b" ", b"", b" Weird \x80 reason", b"  spaced"]))
    return version + b" " + str(code).encode() + reason


@st.composite
def header_lines(draw: st.DrawFn, body_length: int) -> list[bytes]:
    lines: list[bytes] = []
    framing = draw(st.sampled_from(["length", "chunked", "none", "both", "odd"]))
    if framing in ("length", "both"):
        delta = draw(st.sampled_from([0] * 6 + [-1, 1, 5]))
        value = draw(
            st.sampled_from(
                [str(max(body_length + delta, 0)).encode()] * 6
                + [b"-1", b"1x", b" 3 ", b"0x10", b"3, 3", b"99999999999999999999999"]
            )
        )
        lines.append(b"Content-Length: " + value)
        if draw(st.booleans()) and draw(st.booleans()):
            lines.append(b"Content-Length: " + value)
    if framing in ("chunked", "both"):
        lines.append(
            b"Transfer-Encoding: "
            + draw(
                st.sampled_from(
                    [b"chunked"] * 6 + [b"Chunked", b"gzip, chunked", b"chunked, gzip", b"xchunked"]
                )
            )
        )
    if framing == "odd":
        lines.append(draw(st.sampled_from([b"Content-Length : 3", b" Content-Length: 3"])))
    for _ in range(draw(st.integers(0, 3))):
        name = draw(TOKEN).encode()
        value = draw(
            st.one_of(
                st.text(PRINTABLE, max_size=12).map(str.encode),
                st.text(PRINTABLE, max_size=12).map(str.encode),
                st.binary(max_size=12).map(lambda v: v.replace(b"\r", b"").replace(b"\n", b"")),
            )
        )
        lines.append(name + b": " + value)
    if draw(st.booleans()):
        lines.append(b"Connection: " + draw(st.sampled_from([b"close", b"keep-alive", b"Upgrade"])))
    if draw(st.integers(0, 9)) == 0:
        lines.append(b"X-Folded: first\r\n  second")
    return lines


@st.composite
def chunked_bodies(draw: st.DrawFn, body: bytes) -> bytes:
    out = b""
    rest = body
    while rest:
        size = draw(st.integers(1, max(len(rest), 1)))
        piece, rest = rest[:size], rest[size:]
        said = size + draw(st.sampled_from([0] * 8 + [-1, 1]))
        head = draw(st.sampled_from(["%x", "%X", "%04x", "%x;ext=1", "%x "])) % max(said, 0)
        out += head.encode() + b"\r\n" + piece + b"\r\n"
    if draw(st.integers(0, 7)) > 0:
        out += b"0\r\n"
        if draw(st.integers(0, 5)) == 0:
            out += b"Trailer-Field: yes\r\n"
        out += b"\r\n"
    return out


@st.composite
def responses(draw: st.DrawFn) -> tuple[str, bytes]:
    method = draw(st.sampled_from(["GET", "POST", "HEAD"]))
    eol = draw(EOL) if draw(st.integers(0, 9)) == 0 else b"\r\n"
    stream = b""
    if draw(st.integers(0, 5)) == 0:
        interim = draw(st.sampled_from([100, 103, 101]))
        stream += draw(status_lines(interim)) + eol + eol
    body = draw(st.binary(max_size=40))
    lines = draw(header_lines(len(body)))
    stream += draw(status_lines()) + eol + b"".join(line + eol for line in lines) + eol
    if any(line.lower().startswith(b"transfer-encoding") for line in lines):
        stream += draw(chunked_bodies(body))
    else:
        stream += body
    after = draw(
        st.sampled_from(
            [b""] * 10 + [b"\r\n", b"\n", b"X", b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nEVIL"]
        )
    )
    stream += after
    if draw(st.integers(0, 4)) == 0 and stream:  # random damage
        at = draw(st.integers(0, len(stream) - 1))
        stream = stream[:at] + draw(st.binary(min_size=0, max_size=3)) + stream[at + 1 :]
    return method, stream


@st.composite
def split(draw: st.DrawFn) -> tuple[str, list[bytes]]:
    method, stream = draw(responses())
    cuts = sorted(set(draw(st.lists(st.integers(0, len(stream)), max_size=6))))
    pieces, start = [], 0
    for cut in [*cuts, len(stream)]:
        if cut > start:
            pieces.append(stream[start:cut])
            start = cut
    return method, pieces


@settings(
    max_examples=600,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(split())
def test_our_framing_is_never_looser_than_h11(
    loop: asyncio.AbstractEventLoop, case: tuple[str, list[bytes]]
) -> None:
    method, pieces = case
    mine = loop.run_until_complete(ours(method, pieces))
    theirs = oracle(method, pieces)
    if not mine.ok:
        return  # stricter is allowed
    assert theirs.ok, f"we accepted what h11 refused: {mine}"
    assert (mine.status, mine.body) == (theirs.status, theirs.body)
    if mine.reusable:
        assert theirs.reusable, "we would reuse a connection h11 would not"


def test_the_fuzzer_reaches_both_verdicts(loop: asyncio.AbstractEventLoop) -> None:
    """The comparison is not vacuous: a plain response is accepted by both, and reused."""
    good = [b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n", b"ok"]
    assert loop.run_until_complete(ours("GET", good)) == Outcome(True, 200, b"ok", True)
    assert oracle("GET", good) == Outcome(True, 200, b"ok", True)
    smuggled = [b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEVIL"]
    assert loop.run_until_complete(ours("GET", smuggled)) == Outcome(True, 200, b"ok", False)
    assert oracle("GET", smuggled) == Outcome(True, 200, b"ok", False)
