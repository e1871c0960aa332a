"""The dashboard ships in the wheel and the sdist, and a gateway installed from the wheel
serves it (no build step, nothing fetched at run time)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import httpx
import pytest

from tests.support.paths import REPO
from tests.support.process import Gateways, clean_env, gateways_fixture  # noqa: F401

UI = REPO / "literllm_server" / "ui"


def ui_sources() -> dict[str, bytes]:
    return {
        path.relative_to(UI).as_posix(): path.read_bytes()
        for path in sorted(UI.rglob("*"))
        if path.is_file()
    }


def build(kind: str, out: Path) -> Path:
    """`kind` ("wheel" or "sdist") built by setuptools, offline, from a copy of this
    checkout (a build writes `build/` and `*.egg-info` beside the sources)."""
    source = out / "source"
    if not source.exists():
        source.mkdir(parents=True)
        for name in ("pyproject.toml", "README.md"):
            shutil.copy(REPO / name, source / name)
        for package in ("literllm", "literllm_server"):
            shutil.copytree(
                REPO / package, source / package, ignore=shutil.ignore_patterns("__pycache__")
            )
    code = f"import sys; from setuptools import build_meta as b; print(b.build_{kind}(sys.argv[1]))"
    done = subprocess.run(
        [sys.executable, "-c", code, str(out)],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return out / done.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build("wheel", tmp_path_factory.mktemp("dist"))


def test_the_wheel_and_sdist_hold_every_dashboard_file(wheel: Path, tmp_path: Path) -> None:
    sources = ui_sources()
    assert "index.html" in sources and "vendor/uPlot-LICENSE.txt" in sources
    with zipfile.ZipFile(wheel) as archive:
        packaged = {
            name.removeprefix("literllm_server/ui/"): archive.read(name)
            for name in archive.namelist()
            if name.startswith("literllm_server/ui/")
        }
    assert packaged == sources
    sdist = build("sdist", tmp_path)
    with tarfile.open(sdist) as archive:
        names = {
            name.split("/literllm_server/ui/", 1)[1]
            for name in archive.getnames()
            if "/literllm_server/ui/" in name
        }
    assert set(sources) <= names


def test_a_gateway_installed_from_the_wheel_serves_the_dashboard(
    wheel: Path, tmp_path: Path, gateways: Gateways
) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), wheel],
        capture_output=True,
        timeout=120,
        check=True,
    )
    env = {"PYTHONPATH": str(target)}
    where = subprocess.run(
        [sys.executable, "-c", "import literllm_server; print(literllm_server.__file__)"],
        env=clean_env(env),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert where.startswith(str(target)), where  # the installed copy, not this checkout
    gateway = gateways.start(
        '[general]\nmaster_key = "sk-ui-test"\n'
        '[[models]]\nname = "chat"\nprovider_model = "mock/echo"\n',
        env=env,
        cwd=tmp_path,
    )
    with httpx.Client(base_url=gateway.url, timeout=10, follow_redirects=True) as client:
        page = client.get("/ui")
        assert page.status_code == 200 and str(page.url).endswith("/ui/")
        for name, body in ui_sources().items():
            served = client.get(f"/ui/{name}")
            assert served.status_code == 200 and served.content == body, name
