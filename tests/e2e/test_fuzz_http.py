"""Bounded fuzzing of every operation in /openapi.json against `liter-llm api`.

Malformed HTTP, malformed JSON, deep nesting, huge numbers, invalid UTF-8, wrong content
types, odd path and query values: every answer is a JSON error in the protocol's shape
(OpenAI's; Anthropic's on /v1/messages) or a success, never a 5xx, and the server logs
no traceback. Seeded and bounded: about two thousand requests, well under a minute.
"""

from __future__ import annotations

import json
import random
import re
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.process import Gateway, Gateways, gateways_fixture  # noqa: F401

MASTER = "sk-master-fuzz-0001"
TOML = f"""
[server]
host = "127.0.0.1"

[general]
master_key = "{MASTER}"

[[models]]
name = "chat"
provider_model = "mock/echo"

[[keys]]
key = "vk-fuzz-team-0002"
models = ["chat"]
"""
AUTH = {"authorization": f"Bearer {MASTER}"}
MESSAGES = [{"role": "user", "content": "hi"}]
PATH_VALUES = ["x", "%00", "..%2F..%2Fetc%2Fpasswd", "a" * 300, "%C2%B2", "%FF%FE", "chat"]
QUERIES = ["limit=%C2%B2", "limit=" + "9" * 5000, "limit=-1", "after=%FF", "order=sideways",
           "purpose=" + "p" * 2000, "limit=1&limit=2", "%ZZ=1"]  # fmt: skip


def json_bodies() -> Iterator[tuple[str, bytes, str]]:
    deep = b"[" * 1000 + b"]" * 1000
    yield "malformed", b'{"model": "chat", "messages": [', "application/json"
    yield "deep-array", b'{"model":"chat","messages":' + deep + b"}", "application/json"
    yield "deep-object", b'{"a":' * 1000 + b"1" + b"}" * 1000, "application/json"
    yield "unclosed-nesting", b"[" * 200_000, "application/json"
    numbers = [("float", b"1e400"), ("digits", b"9" * 5000), ("negative", b"-1"),
               ("huge-int", b"99999999999999999999999"), ("string", b'"many"')]  # fmt: skip
    for name, value in numbers:
        for field in (b"max_tokens", b"n", b"temperature", b"dimensions"):
            body = b'{"model":"chat","messages":[{"role":"user","content":"hi"}],"input":"x","'
            yield (
                f"{name}-{field.decode()}",
                body + field + b'":' + value + b"}",
                "application/json",
            )
    yield (
        "invalid-utf8",
        b'{"model":"chat","messages":[{"role":"user","content":"\xff\xfe"}]}',
        ("application/json"),
    )
    yield (
        "utf8-in-model",
        '{"model":"chät\u202e","input":"x","messages":[]}'.encode(),
        ("application/json"),
    )
    yield "empty", b"", "application/json"
    for value in (b"null", b"[]", b'"text"', b"123", b"{}"):
        yield f"json-{value.decode()}", value, "application/json"
    body = json.dumps({"model": "chat", "messages": MESSAGES, "input": "x"}).encode()
    content_types = (
        "text/plain",
        "application/xml",
        "multipart/form-data",
        "multipart/form-data; boundary=" + "b" * 300,
        "application/x-www-form-urlencoded",
        "application/json; charset=latin-1",
    )
    for content_type in content_types:
        yield f"type-{content_type[:30]}", body, content_type
    rng = random.Random(16)
    for index in range(5):
        yield f"random-{index}", rng.randbytes(rng.randint(1, 4096)), "application/json"


def assert_answer(response: httpx.Response, what: str) -> None:
    assert response.status_code < 500, (what, response.status_code, response.text[:300])
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith("application/json"), what
        body = response.json()
        error = body["error"]
        if body.get("type") == "error":  # /v1/messages answers in Anthropic's shape
            assert {"message", "type"} <= set(error), what
        else:
            assert {"message", "type", "param", "code"} <= set(error), what


def assert_clean_log(gateway: Gateway) -> None:
    stderr = gateway.stderr()
    assert "Traceback" not in stderr, stderr[-3000:]
    assert "unexpected error" not in stderr, stderr[-3000:]
    assert " ERROR " not in stderr, stderr[-3000:]


@pytest.fixture(scope="module")
def operations() -> list[tuple[str, str]]:
    from literllm_server.openapi import openapi_document

    return [(path, method.upper()) for path, ops in openapi_document()["paths"].items()
            for method in ops]  # fmt: skip


def test_every_operation_answers_json_errors_without_5xx_or_tracebacks(
    gateways: Gateways, operations: list[tuple[str, str]]
) -> None:
    gateway = gateways.start(TOML)
    sent = 0
    with httpx.Client(base_url=gateway.url, timeout=10) as client:
        assert client.get("/openapi.json").status_code == 200
        for template, method in operations:
            paths = [re.sub(r"\{[a-z_]+\}", value, template) for value in PATH_VALUES]
            for path in dict.fromkeys(paths):
                for headers in (AUTH, {}, {"authorization": "Bearer vk-fuzz-team-0002"}):
                    if method == "POST":
                        for name, body, content_type in json_bodies():
                            response = client.request(
                                method, path, content=body,
                                headers={**headers, "content-type": content_type},
                            )  # fmt: skip
                            assert_answer(response, f"{method} {path} {name}")
                            sent += 1
                    else:
                        for query in ["", *QUERIES]:
                            response = client.request(method, f"{path}?{query}", headers=headers)
                            assert_answer(response, f"{method} {path}?{query[:40]}")
                            sent += 1
    assert sent > 500
    assert_clean_log(gateway)


MALFORMED_HTTP = [
    b"GARBAGE\r\n\r\n",
    b"GET / HTTP/9.9\r\n\r\n",
    b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
    b"Content-Length: 7\r\n\r\n{}",
    b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"zz\r\n{}\r\n0\r\n\r\n",
    b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: -4\r\n\r\n",
    b"GET /v1/models HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
    b"GET /v1/models HTTP/1.1\r\nHost: x\r\nX: \x00\x01\r\n\r\n",
    b"GET /v1/\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * 200_000 + b"\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(64),  # a TLS client hello
]


def raw_exchange(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except OSError:
            pass
    return answer


def test_malformed_http_gets_json_400_or_a_closed_connection(gateways: Gateways) -> None:
    gateway = gateways.start(TOML)
    for data in MALFORMED_HTTP:
        answer = raw_exchange(gateway.port, data)
        if not answer:
            continue  # closed without an answer: acceptable for bytes that are not HTTP
        head, _, body = answer.partition(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        assert 400 <= status < 500, (data[:60], answer[:300])
        assert b"application/json" in head.lower(), (data[:60], answer[:300])
        parsed: Any = json.loads(body)
        assert "error" in parsed
    assert httpx.get(gateway.url + "/health/liveness").status_code == 200
    assert_clean_log(gateway)
