"""Building OpenDAL operators from `backend` + `backend_config`."""

from __future__ import annotations

import subprocess
import sys

import pytest

from literllm.errors import ConfigError
from literllm.storage.blob import build_operator, operator_options


def test_options_become_strings() -> None:
    options = {"root": "/x", "enabled": True, "disabled": False, "db": 3, "ratio": 0.5}
    assert operator_options(options) == {
        "root": "/x",
        "enabled": "true",
        "disabled": "false",
        "db": "3",
        "ratio": "0.5",
    }


async def test_built_operator_works(tmp_path: object) -> None:
    operator = build_operator("fs", {"root": str(tmp_path)}, table="files")
    await operator.write("a", b"b")
    assert await operator.read("a") == b"b"


def test_unknown_scheme_lists_the_available_ones() -> None:
    with pytest.raises(ConfigError) as caught:
        build_operator("s4", {}, table="cache")
    message = str(caught.value)
    assert message.startswith("[cache] backend = 's4'")
    assert "available:" in message
    assert "s3" in message


def test_rejected_options_never_echo_their_values() -> None:
    with pytest.raises(ConfigError) as caught:
        build_operator("s3", {"secret_access_key": "TOPSECRET-123"}, table="files")
    assert "TOPSECRET-123" not in str(caught.value)
    assert "[files.backend_config]" in str(caught.value)


def test_opendal_runtime_gets_one_pause_at_exit_however_many_operators() -> None:
    # OpenDAL's Tokio workers can abort a finalizing interpreter; the exit handler
    # that lets them finish must be registered, and only once.
    program = (
        "from literllm.storage import blob\n"
        "blob._let_runtime_settle = lambda: print('settled')\n"
        "blob.build_operator('memory', {}, table='files')\n"
        "blob.build_operator('memory', {}, table='cache')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["settled"]
