"""Time to first chunk of a streamed chat completion, over one keep-alive connection.

A blocking raw-socket HTTP/1.1 client, so the probe itself adds almost nothing: it
sends the request, notes when the first byte of the response body arrives (the first
SSE event), then reads the rest (chunked or Content-Length) and repeats.

    python -m benchmarks.ttfc http://127.0.0.1:18080 --count 500
"""

from __future__ import annotations

import argparse
import socket
import statistics
import time
from pathlib import Path
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent


class _Conn:
    def __init__(self, host: str, port: int) -> None:
        self.sock = socket.create_connection((host, port), timeout=30)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def _fill(self) -> None:
        data = self.sock.recv(262144)
        if not data:
            raise ConnectionError("server closed the connection")
        self.buf += data

    def _line(self) -> bytes:
        while b"\r\n" not in self.buf:
            self._fill()
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def _take(self, n: int) -> bytes:
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def exchange(self, request: bytes) -> tuple[int, int, int]:
        """Send; return (status, ns to the first body byte, ns to the end of the body)."""
        began = time.perf_counter_ns()
        self.sock.sendall(request)
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip().lower()
        first = 0
        if headers.get(b"transfer-encoding") == b"chunked":
            while True:
                size = int(self._line().split(b";")[0], 16)
                if size == 0:
                    while self._line():  # trailers, then the blank line
                        pass
                    break
                if not first:
                    if not self.buf:
                        self._fill()
                    first = time.perf_counter_ns()
                self._take(size)
                self._line()
        else:
            length = int(headers.get(b"content-length", b"0"))
            if length:
                if not self.buf:
                    self._fill()
                first = time.perf_counter_ns()
                self._take(length)
        end = time.perf_counter_ns()
        return status, (first or end) - began, end - began


def probe(
    base: str,
    token: str,
    count: int,
    body_file: str = "stream.json",
    path: str = "/v1/chat/completions",
) -> dict[str, float]:
    """`count` streams one after another; return first-chunk and total latency in us."""
    url = urlsplit(base)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    body = (HERE / "bodies" / body_file).read_bytes()
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    request = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Content-Type: application/json\r\n{auth}"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    conn = _Conn(host, port)
    firsts: list[int] = []
    totals: list[int] = []
    try:
        for _ in range(count):
            status, first, total = conn.exchange(request)
            if status != 200:
                raise RuntimeError(f"{base}{path} answered {status}")
            firsts.append(first)
            totals.append(total)
    finally:
        conn.sock.close()
    q = statistics.quantiles(firsts, n=100, method="inclusive")
    return {
        "count": count,
        "ttfc_p50_us": statistics.median(firsts) / 1e3,
        "ttfc_p99_us": q[98] / 1e3,
        "total_p50_us": statistics.median(totals) / 1e3,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("base", help="e.g. http://127.0.0.1:18080")
    parser.add_argument("--token", default="")
    parser.add_argument("--count", type=int, default=300)
    args = parser.parse_args()
    print(probe(args.base, args.token, args.count))


if __name__ == "__main__":
    main()
