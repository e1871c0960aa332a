"""Vertex AI end to end: a real service-account key (made here) whose token endpoint is a
local server; google-auth signs a JWT, trades it for an access token there, and the
gateway sends that token to the Vertex fake upstream."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from aiohttp import web

from literllm import Proxy
from literllm.testing import FakeUpstream, Reply
from tests.support.configs import MASTER, config
from tests.support.server import ServerThread

DATA = Path(__file__).resolve().parents[1] / "data"


class TokenServer:
    """An OAuth token endpoint on 127.0.0.1 that counts the grants it hands out."""

    def __init__(self) -> None:
        self.grants: list[str] = []
        self.port = 0
        self._ready = threading.Event()
        self._stop: object = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import asyncio

        async def token(request: web.Request) -> web.Response:
            form = await request.post()
            self.grants.append(str(form.get("grant_type")))
            return web.json_response(
                {
                    "access_token": f"ya29.test-{len(self.grants)}",
                    "expires_in": 3600,
                    "token_type": "Bearer",
                }
            )

        async def main() -> None:
            app = web.Application()
            app.router.add_post("/token", token)
            runner = web.AppRunner(app)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            stop = asyncio.Event()
            self._stop = (asyncio.get_running_loop(), stop)
            self._ready.set()
            await stop.wait()
            await runner.cleanup()

        asyncio.run(main())

    def __enter__(self) -> TokenServer:
        self._thread.start()
        assert self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        loop, stop = self._stop  # type: ignore[misc]
        loop.call_soon_threadsafe(stop.set)
        self._thread.join(10)


def service_account_key(path: Path, token_uri: str) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "test-project",
                "private_key_id": "k1",
                "private_key": pem,
                "client_email": "gateway@test-project.iam.gserviceaccount.com",
                "client_id": "1",
                "token_uri": token_uri,
            }
        )
    )


@pytest.fixture
def token_server() -> Iterator[TokenServer]:
    with TokenServer() as server:
        yield server


def test_vertex_chat_uses_a_token_from_the_service_account(
    tmp_path: Path, token_server: TokenServer
) -> None:
    key_file = tmp_path / "sa.json"
    service_account_key(key_file, f"http://127.0.0.1:{token_server.port}/token")
    toml = f"""
[[models]]
name = "vertex"
provider_model = "vertex_ai/gemini-2.0-flash"
api_key = "{key_file}"
base_url = "https://us-central1-aiplatform.googleapis.com/v1/projects/test-project/locations/us-central1"
"""
    upstream = FakeUpstream()
    answer = (DATA / "gemini" / "generate_content_response.json").read_bytes()
    upstream.script(Reply(200, body=answer), Reply(200, body=answer))
    proxy = Proxy.from_config(config(toml), transport=upstream, environ={})
    with ServerThread(proxy) as server:
        client = server.track(
            openai.OpenAI(base_url=server.url + "/v1", api_key=MASTER, max_retries=0, timeout=20)
        )
        for _ in range(2):
            reply = client.chat.completions.create(
                model="vertex", messages=[{"role": "user", "content": "hello"}]
            )
            assert reply.choices[0].message.content
    assert token_server.grants == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
    request = upstream.requests[0]
    assert request.url == (
        "https://us-central1-aiplatform.googleapis.com/v1/projects/test-project/locations/"
        "us-central1/publishers/google/models/gemini-2.0-flash:generateContent"
    )
    assert request.headers["authorization"] == "Bearer ya29.test-1"
    assert upstream.requests[1].headers["authorization"] == "Bearer ya29.test-1"  # reused
