"""Slow clients cannot lock the gateway: header timeout, connection cap, body timeout."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import httpx

from tests.support.process import Gateways, gateways_fixture  # noqa: F401

MASTER = "sk-master-slow-0001"
TOML = f"""
[general]
master_key = "{MASTER}"

[[models]]
name = "chat"
provider_model = "mock/echo"
"""
CHAT = {"model": "chat", "messages": [{"role": "user", "content": "hi"}]}
PARTIAL = b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "


@contextmanager
def slowloris(port: int, count: int) -> Iterator[list[socket.socket]]:
    """`count` connections that each send the start of a request and then nothing."""
    with ExitStack() as stack:
        sockets = []
        for _ in range(count):
            sock = stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=5))
            sock.sendall(PARTIAL)
            sockets.append(sock)
        yield sockets


def closed_by_server(sock: socket.socket) -> bool:
    sock.setblocking(False)
    try:
        return sock.recv(1) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def served(url: str) -> httpx.Response:
    return httpx.post(
        f"{url}/v1/chat/completions",
        json=CHAT,
        headers={"authorization": f"Bearer {MASTER}"},
        timeout=10,
    )


def test_a_new_client_is_served_past_thousands_of_slowloris_connections(
    gateways: Gateways,
) -> None:
    # 1,024 open files: without the cap, 3,000 stalled connections exhaust them and
    # the gateway can accept nobody (the cap is half the limit: 512).
    gateway = gateways.start(TOML + "[server]\nheader_timeout_secs = 120\n", nofile=1024)
    with slowloris(gateway.port, 3000) as sockets:
        started = time.monotonic()
        response = served(gateway.url)
        assert response.status_code == 200, response.text
        assert time.monotonic() - started < 5
        # the oldest stalled connections were closed to make room
        time.sleep(0.2)
        assert sum(closed_by_server(sock) for sock in sockets[:2000]) >= 1900
    assert "Traceback" not in gateway.stderr()


def test_headers_not_complete_in_time_close_the_connection(gateways: Gateways) -> None:
    gateway = gateways.start(TOML + "[server]\nheader_timeout_secs = 0.5\n")
    with slowloris(gateway.port, 20) as sockets:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not all(closed_by_server(s) for s in sockets):
            time.sleep(0.1)
        assert all(closed_by_server(s) for s in sockets)
    assert served(gateway.url).status_code == 200  # a complete request is unaffected


def test_a_stalled_body_gets_408_json(gateways: Gateways) -> None:
    gateway = gateways.start(TOML + "[server]\nread_timeout_secs = 0.5\n")
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as sock:
        sock.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
            + f"Authorization: Bearer {MASTER}\r\n".encode()
            + b'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"model"'
        )
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408"), answer
    assert b'"code":"request_timeout"' in body
    assert "Traceback" not in gateway.stderr()
