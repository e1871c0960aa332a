"""Real services for end-to-end tests: a `redis-server` and an HTTP fake upstream.

Redis (import the fixtures into a test module; pytest finds them by name)::

    from tests.support.services import redis_url_fixture  # noqa: F401

    def test_shared_state(redis_url: str) -> None: ...

`redis_url` is session-scoped (one server for the run, on a free 127.0.0.1 port, no
persistence). `redis_process` is a private server per test, for tests that stop it.
Without the `redis-server` binary both skip, unless `LITER_LLM_REQUIRE_SERVICES=1` (CI)
turns the skip into a failure.

`HttpUpstream` is an OpenAI-compatible upstream on a real socket (aiohttp.web in a
thread): chat completions with fixed `usage`, streams that can be held after their
first chunk until the test releases them, and scripted error statuses.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest
from aiohttp import web

__all__ = [
    "REDIS_PASSWORD",
    "REQUIRE_SERVICES_ENV",
    "HttpUpstream",
    "RedisServer",
    "free_port",
    "redis_binary",
    "redis_process_fixture",
    "redis_url_fixture",
    "redis_with_password_fixture",
    "require_service",
]

REQUIRE_SERVICES_ENV = "LITER_LLM_REQUIRE_SERVICES"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def require_service(reason: str) -> None:
    """Skip the test for a missing service, or fail when CI requires every service."""
    if os.environ.get(REQUIRE_SERVICES_ENV) == "1":
        pytest.fail(f"{reason} ({REQUIRE_SERVICES_ENV}=1 requires it)", pytrace=False)
    pytest.skip(reason)


def redis_binary() -> str | None:
    found = shutil.which("redis-server")
    if found is None and Path("/usr/bin/redis-server").is_file():
        found = "/usr/bin/redis-server"
    return found


class RedisServer:
    """A throwaway `redis-server` on 127.0.0.1: no RDB, no AOF, its own temp dir."""

    def __init__(self, binary: str, *, password: str | None = None) -> None:
        self.binary = binary
        self.password = password
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self._dir = tempfile.TemporaryDirectory(prefix="liter-llm-redis-")
        self.log_path = Path(self._dir.name) / "redis.log"

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> RedisServer:
        for _ in range(3):  # another process may take the free port before redis binds it
            self.port = free_port()
            with self.log_path.open("wb") as log:
                self.process = subprocess.Popen(
                    [
                        self.binary,
                        "--port",
                        str(self.port),
                        "--bind",
                        "127.0.0.1",
                        "--save",
                        "",
                        "--appendonly",
                        "no",
                        "--dir",
                        self._dir.name,
                        *(["--requirepass", self.password] if self.password else []),
                    ],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            if self._wait_ready(timeout):
                return self
            self.stop()  # never leave a half-started server behind
        raise RuntimeError(f"redis-server did not start: {self.log()}")

    def _wait_ready(self, timeout: float) -> bool:
        """True once it answers PING; False if it exits or stays silent for `timeout`."""
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            if self.ping():
                return True
            time.sleep(0.01)
        return False

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                auth = f"AUTH {self.password}\r\n".encode() if self.password else b""
                conn.sendall(auth + b"PING\r\n")
                answer = b""
                while answer.count(b"\r\n") < (2 if auth else 1) and len(answer) < 256:
                    chunk = conn.recv(256)
                    if not chunk:
                        break
                    answer += chunk
                return answer.endswith(b"+PONG\r\n")
        except OSError:
            return False

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        """Kill the server (SIGKILL: as abrupt as a crash) and wait for it to go."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def close(self) -> None:
        self.stop()
        self._dir.cleanup()

    def __enter__(self) -> RedisServer:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def redis_or_skip() -> str:
    """The redis-server binary; skip (or, in CI, fail) when it is not installed."""
    binary = redis_binary()
    if binary is None:
        require_service("redis-server is not installed (apt-get install redis-server)")
        raise AssertionError("unreachable")
    return binary


@pytest.fixture(scope="session", name="redis_url")
def redis_url_fixture() -> Iterator[str]:
    """URL of a real redis-server shared by the whole session."""
    with RedisServer(redis_or_skip()) as server:
        yield server.url


@pytest.fixture(name="redis_process")
def redis_process_fixture() -> Iterator[RedisServer]:
    """A redis-server of this test's own, which the test may stop."""
    with RedisServer(redis_or_skip()) as server:
        yield server


REDIS_PASSWORD = "redis-pass-SECRET-8c41f2"


@pytest.fixture(name="redis_with_password")
def redis_with_password_fixture() -> Iterator[RedisServer]:
    """Like `redis_process`, with `requirepass REDIS_PASSWORD` (its URL carries it)."""
    with RedisServer(redis_or_skip(), password=REDIS_PASSWORD) as server:
        yield server


# -- an OpenAI-compatible upstream on a real socket ----------------------------------


class HttpUpstream:
    """`POST {base_url}/chat/completions` on 127.0.0.1, answered from a script.

    - `usage`: the usage every answer reports (`prompt_tokens`, `completion_tokens`).
    - `status`/`error_body`: answer every request with this error instead.
    - `hold_streams`: a stream sends its first chunk, sets `stream_started`, then waits
      for `release()` before sending the rest (and the usage chunk when asked).
    - `fails`: requests for which it answers 500 instead; `delay`: seconds before each
      answer.
    """

    def __init__(
        self,
        *,
        prompt_tokens: int = 10,
        completion_tokens: int = 5,
        hold_streams: bool = False,
        status: int = 200,
        error_body: dict[str, Any] | None = None,
        fails: Callable[[dict[str, Any]], bool] | None = None,
        delay: float = 0.0,
    ) -> None:
        self.fails = fails
        self.delay = delay
        self.prompt_tokens = prompt_tokens
        self.completion_tokens = completion_tokens
        self.hold_streams = hold_streams
        self.status = status
        self.error_body = error_body or {
            "error": {"message": "bad key", "type": "invalid_request_error", "code": None}
        }
        self.requests: list[dict[str, Any]] = []
        self.authorizations: list[str] = []
        self.stream_started = threading.Event()
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._gate: asyncio.Event | None = None
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._failure: BaseException | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def release(self) -> None:
        """Let held streams finish."""
        if self._loop is not None and self._gate is not None:
            self._loop.call_soon_threadsafe(self._gate.set)

    def _answer(self, model: str) -> dict[str, Any]:
        return {
            "id": "chatcmpl-upstream",
            "object": "chat.completion",
            "created": 1,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "logprobs": None,
                    "message": {"role": "assistant", "content": "hello", "refusal": None},
                }
            ],
            "usage": self._usage(),
        }

    def _usage(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
        }

    def _chunk(self, model: str, content: str | None, finish: str | None) -> bytes:
        choices = (
            []
            if content is None and finish is None
            else [
                {
                    "index": 0,
                    "delta": {"content": content} if content is not None else {},
                    "finish_reason": finish,
                    "logprobs": None,
                }
            ]
        )
        chunk: dict[str, Any] = {
            "id": "chatcmpl-upstream",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": model,
            "choices": choices,
        }
        if content is None and finish is None:
            chunk["usage"] = self._usage()
        return b"data: " + json.dumps(chunk).encode() + b"\n\n"

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        with self._lock:
            self.requests.append(body)
            self.authorizations.append(request.headers.get("authorization", ""))
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.status != 200 or (self.fails is not None and self.fails(body)):
            return web.json_response(
                self.error_body, status=self.status if self.status != 200 else 500
            )
        model = str(body.get("model", "unknown"))
        if not body.get("stream"):
            return web.json_response(self._answer(model))
        response = web.StreamResponse(headers={"content-type": "text/event-stream"})
        await response.prepare(request)
        await response.write(self._chunk(model, "first ", None))
        self.stream_started.set()
        if self.hold_streams:
            assert self._gate is not None
            await self._gate.wait()
        await response.write(self._chunk(model, "second", None))
        await response.write(self._chunk(model, None, "stop"))
        if (body.get("stream_options") or {}).get("include_usage"):
            await response.write(self._chunk(model, None, None))
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        except BaseException as error:  # reported by start()
            self._failure = error
            self._ready.set()
        finally:
            loop.close()

    async def _serve(self) -> None:
        self._gate = asyncio.Event()
        self._stop = asyncio.Event()
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        self._runner = runner
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            self._gate.set()
            await runner.cleanup()

    def __enter__(self) -> HttpUpstream:
        self._thread.start()
        if not self._ready.wait(10) or self._failure is not None:
            raise RuntimeError(f"fake upstream did not start: {self._failure!r}")
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._loop is not None and self._stop is not None:
            with contextlib.suppress(RuntimeError):  # loop already closed
                self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)
