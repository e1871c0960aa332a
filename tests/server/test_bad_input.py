"""Hostile or odd input answers OpenAI-style JSON with a 4xx and logs no traceback."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest

from literllm import Proxy
from tests.support.configs import MASTER, config
from tests.support.server import ServerThread

HEADERS = {"authorization": f"Bearer {MASTER}"}
TOML = """
[[models]]
name = "chat"
provider_model = "mock/echo"

[[models]]
name = "keyless"
provider_model = "openai/gpt-4o"

[[aliases]]
pattern = "anthropic/*"
"""


@pytest.fixture(scope="module")
def server() -> Iterator[ServerThread]:
    with ServerThread(Proxy.from_config(config(TOML), environ={})) as running:
        yield running


def assert_clean_4xx(response: httpx.Response, caplog: pytest.LogCaptureFixture) -> None:
    assert 400 <= response.status_code < 500, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert "Traceback" not in response.text
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


def post_json(server: ServerThread, body: bytes) -> httpx.Response:
    return httpx.post(
        server.url + "/v1/chat/completions",
        content=body,
        headers={**HEADERS, "content-type": "application/json"},
    )


@pytest.mark.parametrize(
    "body",
    [
        b'{"model":"chat","messages":' + b"[" * 1000 + b"]" * 1000 + b"}",
        b'{"a":' * 1000 + b"1" + b"}" * 1000,
        b"[" * 100_000,
    ],
    ids=["array-1000", "object-1000", "unclosed-100k"],
)
def test_deeply_nested_json_is_a_400(
    server: ServerThread, caplog: pytest.LogCaptureFixture, body: bytes
) -> None:
    response = post_json(server, body)
    assert_clean_4xx(response, caplog)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"


@pytest.mark.parametrize("limit", ["²", "٣", "9" * 5000, "-1", "1e3", "0x10", "0"])
def test_odd_file_list_limits_are_a_400(
    server: ServerThread, caplog: pytest.LogCaptureFixture, limit: str
) -> None:
    response = httpx.get(server.url + "/v1/files", params={"limit": limit}, headers=HEADERS)
    assert_clean_4xx(response, caplog)
    assert response.json()["error"]["param"] == "limit"


def test_a_multipart_boundary_over_256_characters_is_a_400(
    server: ServerThread, caplog: pytest.LogCaptureFixture
) -> None:
    boundary = "b" * 300
    body = f'--{boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n'
    response = httpx.post(
        server.url + "/v1/files",
        content=body.encode(),
        headers={**HEADERS, "content-type": f"multipart/form-data; boundary={boundary}"},
    )
    assert_clean_4xx(response, caplog)
    assert "boundary" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("model", "provider", "variable"),
    [
        ("keyless", "openai", "OPENAI_API_KEY"),
        ("anthropic/claude-3-5-haiku", "anthropic", "ANTHROPIC_API_KEY"),
    ],
)
def test_a_model_without_credential_names_provider_and_variable(
    server: ServerThread, caplog: pytest.LogCaptureFixture, model: str, provider: str, variable: str
) -> None:
    response = httpx.post(
        server.url + "/v1/chat/completions",
        json={"model": model, "messages": [{"role": "user", "content": "hi"}]},
        headers=HEADERS,
    )
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["type"] != "server_error"
    assert error["code"] == "missing_credential"
    assert repr(provider) in error["message"] and variable in error["message"]
    assert not [r for r in caplog.records if r.exc_info]


def test_uploads_are_bound_by_max_file_bytes_not_body_limit_bytes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    toml = "[server]\nbody_limit_bytes = 100\n[files]\nmax_file_bytes = 1000\n"
    with ServerThread(Proxy.from_config(config(toml), environ={})) as running:

        def post(size: int) -> httpx.Response:
            return httpx.post(
                running.url + "/v1/files",
                headers=HEADERS,
                data={"purpose": "batch"},
                files={"file": ("in.jsonl", b"x" * size)},
            )

        assert post(1000).json()["bytes"] == 1000
        too_big = post(1001)
        assert_clean_4xx(too_big, caplog)
        assert too_big.status_code == 413
        assert too_big.json()["error"]["code"] == "file_too_large"


@pytest.mark.parametrize("limit", ["²", "9" * 5000])
def test_odd_response_input_item_limits_are_a_400(
    server: ServerThread, caplog: pytest.LogCaptureFixture, limit: str
) -> None:
    response = httpx.get(
        server.url + "/v1/responses/resp_x/input_items", params={"limit": limit}, headers=HEADERS
    )
    assert_clean_4xx(response, caplog)
