"""HEAD on every GET endpoint answers like GET, without a body."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from literllm import Proxy
from literllm_server.routes import ROUTES
from tests.support.configs import MASTER, MOCK_POOL, config
from tests.support.server import ServerThread

# Per response, or framing of a body that HEAD does not have (a streamed GET is chunked).
_VARYING = {"x-request-id", "date", "transfer-encoding"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    root = tmp_path_factory.mktemp("files")
    files = f'[files]\nbackend = "fs"\n[files.backend_config]\nroot = "{root}"\n'
    with ServerThread(Proxy.from_config(config(MOCK_POOL + files), environ={})) as running:
        yield running


@pytest.fixture(scope="module")
def file_id(server: ServerThread) -> str:
    answer = httpx.post(
        server.url + "/v1/files",
        headers={"authorization": f"Bearer {MASTER}"},
        files={"file": ("a.jsonl", b'{"a": 1}\n')},
        data={"purpose": "batch"},
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["id"])


def get_paths(file_id: str) -> list[str]:
    static = [path for path, methods in ROUTES.items() if "GET" in methods]
    return [
        *static,
        "/v1/models/chat",
        f"/v1/files/{file_id}",
        f"/v1/files/{file_id}/content",
        "/v1/models/no-such-model",  # an error answer: HEAD mirrors it too
    ]


def exchange(
    server: ServerThread, method: str, path: str, key: str | None
) -> tuple[int, dict[str, str], bytes]:
    """One request on a fresh connection; then a second request on the same connection
    proves that no stray body bytes followed a HEAD answer."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    headers = {"authorization": f"Bearer {key}"} if key else {}
    try:
        connection.request(method, path, headers=headers)
        response = connection.getresponse()
        body = response.read()
        answer = (
            response.status,
            {k.lower(): v for k, v in response.getheaders() if k.lower() not in _VARYING},
            body,
        )
        connection.request("GET", "/health/liveness")
        follow_up = connection.getresponse()
        assert follow_up.status == 200 and b"alive" in follow_up.read()
        return answer
    finally:
        connection.close()


@pytest.mark.parametrize("key", [MASTER, None])
def test_head_mirrors_get_on_every_get_endpoint(
    server: ServerThread, file_id: str, key: str | None
) -> None:
    for path in get_paths(file_id):
        get_status, get_headers, get_body = exchange(server, "GET", path, key)
        head_status, head_headers, head_body = exchange(server, "HEAD", path, key)
        assert head_status == get_status, path
        assert head_body == b"", path
        if path != "/metrics":  # its body (and so its length) changes between requests
            assert head_headers == get_headers, path
        else:
            assert head_headers.keys() == get_headers.keys()
        if get_status == 200:
            assert get_body, path


def test_405_lists_head_where_get_is_allowed(server: ServerThread) -> None:
    answer = httpx.delete(server.url + "/v1/models", headers={"authorization": f"Bearer {MASTER}"})
    assert answer.status_code == 405
    assert answer.headers["allow"] == "GET, HEAD"
    post_only = httpx.head(server.url + "/v1/chat/completions")
    assert post_only.status_code == 405 and post_only.content == b""
    assert post_only.headers["allow"] == "POST"


def test_head_on_an_unknown_path_is_404_without_body(server: ServerThread, tmp_path: Path) -> None:
    answer = httpx.head(server.url + "/nowhere")
    assert answer.status_code == 404 and answer.content == b""
    assert int(answer.headers["content-length"]) > 0  # GET's length, as HTTP allows
