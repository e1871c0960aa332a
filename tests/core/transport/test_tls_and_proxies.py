"""The HTTP client over TLS and through HTTP proxies (CONNECT tunnels, absolute-form
requests, NO_PROXY), against raw asyncio servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
from pathlib import Path

import pytest

from literllm.errors import UpstreamError
from literllm.transport.client import HttpTransport, proxies_from
from tests.support.paths import REPO
from tests.support.rawhttp import (
    Handler,
    Peer,
    RawServer,
    ServerFactory,
    assert_connection_error,
    echo_target,
    get,
    post,
)

# --- HTTPS -----------------------------------------------------------------------------


@pytest.fixture
def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    """A certificate for localhost and 127.0.0.1 and its key: (cert.pem, key.pem)."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost"),
            *("-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
async def tls_server(serve: ServerFactory, self_signed: tuple[Path, Path]) -> RawServer:
    cert, key = self_signed
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return await serve(echo_target, ssl_context=context)


async def test_https_to_a_server_the_context_trusts(
    tls_server: RawServer, self_signed: tuple[Path, Path]
) -> None:
    client = HttpTransport(ssl_context=ssl.create_default_context(cafile=self_signed[0]))
    try:
        first = await client.send(post(tls_server.url("/secure?q=1")), timeout=5)
        second = await client.send(get(tls_server.url("/again")), timeout=5)
    finally:
        await client.aclose()
    assert (first.status, first.body, second.body) == (200, b"/secure?q=1", b"/again")
    assert tls_server.requests[0].headers["host"] == f"127.0.0.1:{tls_server.port}"
    assert tls_server.connections == 1


async def test_https_default_context_refuses_a_self_signed_server(
    tls_server: RawServer, transport: HttpTransport
) -> None:
    with pytest.raises(UpstreamError) as caught:
        await transport.send(get(tls_server.url("/x")), timeout=5)
    assert_connection_error(caught.value)
    assert tls_server.requests == []


# --- proxies ---------------------------------------------------------------------------


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()


def tunnelling_proxy(answer: bytes = b"HTTP/1.1 200 Connection established\r\n\r\n") -> Handler:
    """A proxy that accepts `CONNECT host:port` and then pipes bytes both ways."""
    seen: list[str] = []

    async def handle(peer: Peer) -> None:
        head = (await peer.reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        peer.server.received += head.encode("latin-1")
        seen.append(head)
        method, authority, _ = head.split("\r\n")[0].split(" ")
        assert method == "CONNECT"
        await peer.send(answer)
        if not answer.startswith(b"HTTP/1.1 200"):
            return
        host, port = authority.rsplit(":", 1)
        reader, writer = await asyncio.open_connection(host, int(port))
        await asyncio.gather(pipe(peer.reader, writer), pipe(reader, peer.writer))

    return handle


async def test_https_goes_through_a_connect_tunnel(
    serve: ServerFactory, tls_server: RawServer, self_signed: tuple[Path, Path]
) -> None:
    proxy = await serve(tunnelling_proxy())
    client = HttpTransport(
        ssl_context=ssl.create_default_context(cafile=self_signed[0]),
        proxies={"https": f"http://user:p%40ss@127.0.0.1:{proxy.port}"},
    )
    try:
        first = await client.send(post(tls_server.url("/v1/chat")), timeout=5)
        second = await client.send(post(tls_server.url("/v1/again")), timeout=5)
    finally:
        await client.aclose()
    assert (first.body, second.body) == (b"/v1/chat", b"/v1/again")
    head = bytes(proxy.received).decode("latin-1")
    assert head.startswith(f"CONNECT 127.0.0.1:{tls_server.port} HTTP/1.1\r\n")
    assert "proxy-authorization: Basic dXNlcjpwQHNz\r\n" in head  # user:p@ss
    assert proxy.connections == 1 and tls_server.connections == 1  # one tunnel, reused


async def test_plain_http_goes_to_the_proxy_in_absolute_form(serve: ServerFactory) -> None:
    proxy = await serve(echo_target)  # answers as if it had forwarded
    client = HttpTransport(proxies={"http": f"127.0.0.1:{proxy.port}"})
    try:
        response = await client.send(post("http://upstream.test:8080/v1/x?y=1"), timeout=5)
    finally:
        await client.aclose()
    assert response.body == b"http://upstream.test:8080/v1/x?y=1"
    assert proxy.requests[0].headers["host"] == "upstream.test:8080"


async def test_no_proxy_hosts_are_reached_directly(serve: ServerFactory) -> None:
    origin = await serve(echo_target)
    client = HttpTransport(
        proxies={"http": "http://127.0.0.1:9", "no": "localhost, 127.0.0.1:8080"}
    )
    try:
        response = await client.send(post(origin.url("/direct")), timeout=5)
    finally:
        await client.aclose()
    assert response.body == b"/direct"


async def test_a_proxy_that_refuses_the_tunnel_is_a_retryable_502(
    serve: ServerFactory, tls_server: RawServer
) -> None:
    proxy = await serve(tunnelling_proxy(b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n"))
    client = HttpTransport(proxies={"https": f"http://127.0.0.1:{proxy.port}"})
    try:
        with pytest.raises(UpstreamError) as caught:
            await client.send(post(tls_server.url("/x")), timeout=5)
    finally:
        await client.aclose()
    assert_connection_error(caught.value)
    assert tls_server.requests == []


def test_proxies_come_from_the_environment_lower_case_first() -> None:
    environ = {
        "HTTPS_PROXY": "http://upper:3128",
        "https_proxy": "http://lower:3128",
        "HTTP_PROXY": "http://plain:3128",
        "NO_PROXY": ".internal,localhost",
    }
    assert proxies_from(environ) == {
        "http": "http://plain:3128",
        "https": "http://lower:3128",
        "no": ".internal,localhost",
    }
    assert proxies_from({}) == {}


def test_only_http_proxies_are_accepted_and_their_password_is_not_shown() -> None:
    with pytest.raises(ValueError, match="only http:// proxies") as caught:
        HttpTransport(proxies={"https": "https://user:hunter2@proxy.test:443"})
    assert "hunter2" not in str(caught.value)


def test_a_gateway_with_an_unusable_proxy_environment_does_not_start() -> None:
    from literllm import Proxy
    from literllm.config import load_config
    from literllm.errors import ConfigError

    config = load_config(REPO / "examples" / "quickstart.toml")
    with pytest.raises(ConfigError, match="only http:// proxies") as caught:
        Proxy(config, environ={"HTTPS_PROXY": "https://user:hunter2@proxy.test"})
    assert "hunter2" not in str(caught.value)
