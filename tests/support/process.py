"""Run `liter-llm` as a real subprocess: the CLI to completion, or `api` as a server.

    from tests.support.process import gateways_fixture  # noqa: F401

    def test_it(gateways: Gateways) -> None:
        gateway = gateways.start(TOML_TEXT, "--master-key", "sk-x")
        httpx.get(gateway.url + "/health/liveness")

Every gateway started through `gateways` is killed in the fixture's teardown, whatever
the test did. Output goes to files in the test's tmp dir (`gateway.stderr()`), so a
chatty server can never block on a full pipe. The environment is the test runner's
minus every `LITER_LLM_*` and `OTEL_*` variable, plus what the test passes.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType

import httpx
import pytest

from tests.support.closing import ClosesClients

from .services import free_port

__all__ = [
    "CLI",
    "Gateway",
    "Gateways",
    "clean_env",
    "descendants",
    "gateways_fixture",
    "run_cli",
    "serving_pids",
]

_SCRIPT = Path(sys.executable).with_name("liter-llm")
CLI: list[str] = (
    [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "literllm_server.cli"]
)
"""The `liter-llm` console script of this environment (`python -m` as a fallback)."""


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("LITER_LLM_", "OTEL_")) or k == "LITER_LLM_REQUIRE_SERVICES"
    }
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def run_cli(
    *args: str,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 30.0,
) -> subprocess.CompletedProcess[str]:
    """`liter-llm ARGS` to completion, output captured as text."""
    return subprocess.run(
        [*CLI, *args],
        cwd=cwd,
        env=clean_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


class Gateway(ClosesClients):
    """One `liter-llm api` process."""

    def __init__(
        self,
        config: Path | None,
        args: Sequence[str],
        *,
        workdir: Path,
        env: Mapping[str, str] | None = None,
        port: int | None = None,
        cwd: Path | None = None,
        nofile: int | None = None,
    ) -> None:
        self.nofile = nofile
        self.config = config
        self.args = list(args)
        self.workdir = workdir
        self.env = clean_env(env)
        self.cwd = cwd
        self.fixed_port = port
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.stdout_path = workdir / "stdout.log"
        self.stderr_path = workdir / "stderr.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def command(self) -> list[str]:
        command = [*CLI, "api"]
        if self.config is not None:
            command += ["--config", str(self.config)]
        if self.fixed_port is None:
            command += ["--port", str(self.port)]
        return command + self.args

    def spawn(self) -> Gateway:
        """Start the process (without waiting for it to listen)."""
        self.port = self.fixed_port if self.fixed_port is not None else free_port()
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.process = subprocess.Popen(
                self.command(),
                stdout=out,
                stderr=err,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,  # its own process group: workers die with it
                preexec_fn=self._limit_files if self.nofile else None,
            )
        return self

    def _limit_files(self) -> None:
        assert self.nofile is not None
        resource.setrlimit(resource.RLIMIT_NOFILE, (self.nofile, self.nofile))

    def start(self, timeout: float = 30.0) -> Gateway:
        """Start and wait until `GET /health/liveness` answers 200. A port lost to a
        race with another process is retried on a new free port."""
        for _ in range(3):
            self.spawn()
            if self.wait_ready(timeout):
                return self
            if self.fixed_port is not None or "address already in use" not in self.stderr():
                break
        raise RuntimeError(
            f"gateway exited with {self.returncode} before serving:\n{self.stderr()[-4000:]}"
        )

    def wait_ready(self, timeout: float = 30.0) -> bool:
        """True once liveness answers; False if the process exits first."""
        assert self.process is not None
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=1.0) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    return False
                try:
                    if client.get(f"{self.url}/health/liveness").status_code == 200:
                        return True
                except httpx.TransportError:
                    pass
                time.sleep(0.02)
        self.kill()
        raise RuntimeError(f"gateway not live after {timeout}s:\n{self.stderr()[-4000:]}")

    @property
    def returncode(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def signal(self, sig: int) -> None:
        assert self.process is not None
        self.process.send_signal(sig)

    def terminate(self) -> None:
        self.signal(signal.SIGTERM)

    def wait(self, timeout: float = 30.0) -> int:
        assert self.process is not None
        return self.process.wait(timeout=timeout)

    def kill(self) -> None:
        """SIGKILL the process and its workers (its process group) and reap it."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL if it has not exited within `timeout`."""
        self.close_clients()  # `track(client)`: clients of this gateway
        if self.process is None:
            return
        if self.process.poll() is None:
            self.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=timeout)
        self.kill()

    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace") if self.stdout_path.exists() else ""

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""

    def __enter__(self) -> Gateway:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class Gateways:
    """Starts gateways in `root` (one sub-directory each) and stops them all on close."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.started: list[Gateway] = []

    def write_config(self, text: str, name: str = "liter-llm-proxy.toml") -> Path:
        path = self.root / f"config-{len(self.started)}-{name}"
        path.write_text(text, encoding="utf-8")
        return path

    def create(
        self,
        config: str | Path | None,
        *args: str,
        env: Mapping[str, str] | None = None,
        port: int | None = None,
        cwd: Path | None = None,
        nofile: int | None = None,
    ) -> Gateway:
        """A gateway not yet started. `config` is TOML text, a path, or None (discovery);
        `nofile` caps its open files (RLIMIT_NOFILE)."""
        if isinstance(config, str):
            config = self.write_config(config)
        workdir = self.root / f"gateway-{len(self.started)}"
        workdir.mkdir()
        gateway = Gateway(config, args, workdir=workdir, env=env, port=port, cwd=cwd, nofile=nofile)
        self.started.append(gateway)
        return gateway

    def start(
        self,
        config: str | Path | None,
        *args: str,
        env: Mapping[str, str] | None = None,
        port: int | None = None,
        cwd: Path | None = None,
        timeout: float = 30.0,
        nofile: int | None = None,
    ) -> Gateway:
        """Start a gateway and wait until it is live."""
        return self.create(config, *args, env=env, port=port, cwd=cwd, nofile=nofile).start(timeout)

    def close(self) -> None:
        for gateway in self.started:
            gateway.kill()


@pytest.fixture(name="gateways")
def gateways_fixture(tmp_path: Path) -> Iterator[Gateways]:
    """Start `liter-llm api` processes; all are killed at teardown."""
    gateways = Gateways(tmp_path)
    try:
        yield gateways
    finally:
        gateways.close()


# -- which process answered (Linux /proc) ---------------------------------------------


def descendants(pid: int) -> set[int]:
    """`pid`'s children, grandchildren and so on (from /proc)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _socket_inodes(pid: int) -> set[int]:
    inodes: set[int] = set()
    with contextlib.suppress(OSError):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(int(target[8:-1]))
    return inodes


def _accepted_inodes(server_port: int, client_ports: set[int]) -> set[int]:
    """Inodes of the server side of established TCP connections from `client_ports`."""
    inodes: set[int] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for row in Path(table).read_text().splitlines()[1:]:
                fields = row.split()
                local_port = int(fields[1].rsplit(":", 1)[1], 16)
                remote_port = int(fields[2].rsplit(":", 1)[1], 16)
                if local_port == server_port and remote_port in client_ports:
                    inodes.add(int(fields[9]))
    return inodes


def serving_pids(gateway: Gateway, count: int = 8) -> set[int]:
    """Open `count` connections at once, make a request on each, and return the pids of
    the processes (the gateway or its workers) that hold the accepted ends."""
    if not Path("/proc/net/tcp").exists():
        pytest.skip("needs Linux /proc to see which process accepted a connection")
    connections = [
        socket.create_connection(("127.0.0.1", gateway.port), timeout=10) for _ in range(count)
    ]
    try:
        for connection in connections:
            connection.sendall(b"GET /health/liveness HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n")
        for connection in connections:
            received = b""
            while b"alive" not in received:
                chunk = connection.recv(4096)
                if not chunk:
                    raise AssertionError(f"connection closed without an answer: {received!r}")
                received += chunk
            assert received.startswith(b"HTTP/1.1 200"), received
        inodes = _accepted_inodes(gateway.port, {c.getsockname()[1] for c in connections})
        return {
            pid for pid in {gateway.pid} | descendants(gateway.pid) if _socket_inodes(pid) & inodes
        }
    finally:
        for connection in connections:
            connection.close()
