"""The servers under test: how to start each one, wait for it, and stop it."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RUN_DIR = HERE / ".run"
PROJECT_PY = REPO / ".venv" / "bin" / "python"
LITELLM_BIN = HERE / ".venv-litellm" / "bin" / "litellm"
GATEWAY_BIN = REPO / ".venv" / "bin" / "liter-llm"

MOCK_PORT = 18080
FLOOR_PORT = 18081
GATEWAY_PORT = 18082
LITELLM_PORT = 18083
FLOOR_AIOHTTP_PORT = 18084

MASTER_KEY = "sk-bench-master"
VIRTUAL_KEY = "vk-bench"

# With --pin: the servers under test run on CPU 1; wrk, the probes and the mock on CPU 0.
SERVER_CPUS = {1}
DRIVER_CPUS = {0}


@dataclass
class Target:
    name: str
    port: int
    argv: list[str]
    token: str = ""
    env: dict[str, str] = field(default_factory=dict)
    cpus: set[int] | None = None
    proc: subprocess.Popen[bytes] | None = None
    startup_s: float | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None, f"{self.name} is not running"
        return self.proc.pid

    def start(self, timeout: float = 60.0) -> float:
        """Spawn the server and poll until a chat completion answers 200.

        Returns the seconds from spawn to that first successful response.
        """
        if _port_open(self.port):
            raise RuntimeError(f"port {self.port} is already in use; is a {self.name} running?")
        RUN_DIR.mkdir(exist_ok=True)
        log = open(RUN_DIR / f"{self.name}.log", "wb")  # noqa: SIM115 - lives with the process
        env = {**os.environ, **self.env}
        env.pop("DATABASE_URL", None)
        cpus = self.cpus
        began = time.perf_counter()
        self.proc = subprocess.Popen(
            self.argv,
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None,
        )
        body = (HERE / "bodies" / "chat.json").read_bytes()
        while True:
            if self.proc.poll() is not None:
                code = self.proc.returncode
                raise RuntimeError(f"{self.name} exited with {code}; see {log.name}")
            if _post_ok(self.base + "/v1/chat/completions", body, self.token):
                self.startup_s = time.perf_counter() - began
                return self.startup_s
            if time.perf_counter() - began > timeout:
                self.stop()
                raise RuntimeError(f"{self.name}: no 200 within {timeout:.0f} s; see {log.name}")
            time.sleep(0.005)

    def stop(self) -> None:
        """SIGTERM the process group we created, then SIGKILL it if it lingers."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None


def _port_open(port: int) -> bool:
    import socket

    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _post_ok(url: str, body: bytes, token: str) -> bool:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=2) as resp:
            resp.read()
            return bool(resp.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


def mock(pin: bool, workers: int = 1) -> Target:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    prefix = RUN_DIR / "mock"
    prefix.mkdir(parents=True, exist_ok=True)
    conf = (HERE / "mock" / "nginx.conf.in").read_text()
    for key, value in {
        "@PREFIX@": str(prefix),
        "@PORT@": str(MOCK_PORT),
        "@WORKERS@": str(workers),
        "@MOCKDIR@": str(HERE / "mock"),
    }.items():
        conf = conf.replace(key, value)
    (prefix / "nginx.conf").write_text(conf)
    return Target(
        "mock",
        MOCK_PORT,
        [
            nginx,
            "-p",
            str(prefix),
            "-c",
            str(prefix / "nginx.conf"),
            "-e",
            str(prefix / "error.log"),
        ],
        cpus=DRIVER_CPUS if pin else None,
    )


def floor(pin: bool) -> Target:
    return Target(
        "floor",
        FLOOR_PORT,
        [
            str(PROJECT_PY),
            "-m",
            "uvicorn",
            "benchmarks.floor:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(FLOOR_PORT),
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        env={"FLOOR_UPSTREAM": f"http://127.0.0.1:{MOCK_PORT}"},
        cpus=SERVER_CPUS if pin else None,
    )


def floor_aiohttp(pin: bool) -> Target:
    return Target(
        "floor-aiohttp",
        FLOOR_AIOHTTP_PORT,
        [
            str(PROJECT_PY),
            "-m",
            "uvicorn",
            "benchmarks.floor_aiohttp:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(FLOOR_AIOHTTP_PORT),
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        env={"FLOOR_UPSTREAM": f"http://127.0.0.1:{MOCK_PORT}"},
        cpus=SERVER_CPUS if pin else None,
    )


def gateway_available() -> str | None:
    """None when `liter-llm api` can be run, else why not."""
    if not GATEWAY_BIN.exists():
        return f"{GATEWAY_BIN} not installed"
    if not (REPO / "literllm_server" / "cli.py").exists():
        return "literllm_server/cli.py does not exist yet"
    return None


def gateway(pin: bool, config: Path | None = None) -> Target:
    return Target(
        "gateway",
        GATEWAY_PORT,
        [
            str(GATEWAY_BIN),
            "api",
            "--config",
            str(config or HERE / "gateway.toml"),
        ],
        token=VIRTUAL_KEY,
        cpus=SERVER_CPUS if pin else None,
    )


def litellm_available() -> str | None:
    if not LITELLM_BIN.exists():
        return f"{LITELLM_BIN} missing: see benchmarks/README.md to install it"
    return None


def litellm(pin: bool) -> Target:
    return Target(
        "litellm",
        LITELLM_PORT,
        [
            str(LITELLM_BIN),
            "--config",
            str(HERE / "litellm_config.yaml"),
            "--host",
            "127.0.0.1",
            "--port",
            str(LITELLM_PORT),
            "--num_workers",
            "1",
        ],
        token=MASTER_KEY,
        env={"LITELLM_LOCAL_MODEL_COST_MAP": "True"},
        cpus=SERVER_CPUS if pin else None,
    )
