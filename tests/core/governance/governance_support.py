"""Helpers shared by the governance tests (a module, not conftest, so tests can import it)."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from literllm.governance import Governor
from literllm.pricing import ModelPrice, Pricing

BACKENDS = ["memory", "sqlite", "redis"]

PRICED_MODEL = "openai/test-model"
"""Costs $0.001 per input token and $0.002 per output token."""
OTHER_MODEL = "openai/other-model"


class FakeClock:
    """Moves only when told to; `sleep` advances it at once."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start
        self._origin = start

    def time(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.now - self._origin

    def advance(self, seconds: float) -> None:
        self.now += seconds

    async def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)
        await asyncio.sleep(0)


def priced_table() -> Pricing:
    return Pricing(
        {
            PRICED_MODEL: ModelPrice(input=0.001, output=0.002, max_output_tokens=100),
            OTHER_MODEL: ModelPrice(input=0.01, output=0.02),
        }
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


GovernorFactory = Callable[..., Governor]


def redis_binary() -> str | None:
    found = shutil.which("redis-server")
    if found is None and Path("/usr/bin/redis-server").exists():
        found = "/usr/bin/redis-server"
    return found


def _wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"redis-server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)  # waiting for a child process to listen, not for time
    raise RuntimeError("redis-server did not start listening within 10 s")


@contextlib.contextmanager
def redis_server(binary: str, *extra_args: str) -> Iterator[str]:
    """A throwaway redis-server on a free 127.0.0.1 port, without persistence."""
    port = free_port()
    process = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            *extra_args,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(port, process)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)
