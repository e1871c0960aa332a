"""Fixtures for the cache and files tests: a fake clock, a real redis-server (shared, from
`tests.support.services`), a moto S3."""

from __future__ import annotations

import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from literllm.testing import FakeClock
from tests.support.services import redis_url_fixture  # noqa: F401 (the redis_url fixture)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def closed_port() -> int:
    """A 127.0.0.1 port nothing listens on (connections are refused)."""
    return free_port()


def _wait_for_port(port: int, process: subprocess.Popen[bytes], what: str) -> None:
    """Poll until a freshly started server accepts connections (not a wait for time)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with status {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"{what} did not start listening on 127.0.0.1:{port}")


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 in server mode on a free 127.0.0.1 port."""
    moto_server = pytest.importorskip("moto.server", reason="moto[server] is not installed")
    port = free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_options(s3_endpoint: str) -> dict[str, Any]:
    """OpenDAL `s3` options for a fresh bucket on the moto server."""
    boto3 = pytest.importorskip("boto3", reason="boto3 (installed with moto) is missing")
    bucket = f"test-{uuid.uuid4().hex[:12]}"
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.create_bucket(Bucket=bucket)
    return {
        "endpoint": s3_endpoint,
        "bucket": bucket,
        "region": "us-east-1",
        "access_key_id": "testing",
        "secret_access_key": "testing",
        "disable_config_load": True,
        "disable_ec2_metadata": True,
    }
