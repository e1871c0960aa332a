"""Every ```python block of README.md and docs/*.md runs as written.

Each block runs as its own program (a subprocess) in an empty directory where
`examples/` is the repository's, so `examples/quickstart.toml` resolves as it does
from a clone. A comment line before the block says what else it needs:

- `<!-- example: server -->`: a `liter-llm api` on `examples/quickstart.toml`; the test
  starts one and points the block's `127.0.0.1:4000` at it.
- `<!-- example: pytest -->`: the block is a test file, run by a plain `pytest`
  invocation (no configuration of ours applies).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.paths import REPO
from tests.support.process import Gateway, Gateways, clean_env

_BLOCK = re.compile(
    r"^(?:<!-- example: (?P<mark>[a-z-]+) -->\n)?```python\n(?P<code>.*?)^```", re.S | re.M
)
_MARKS = {None, "server", "pytest"}
_DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def examples() -> list[tuple[str, str | None, str]]:
    found = []
    for doc in _DOCS:
        text = doc.read_text(encoding="utf-8")
        for match in _BLOCK.finditer(text):
            line = text.count("\n", 0, match.start("code"))
            found.append((f"{doc.relative_to(REPO)}:{line}", match["mark"], match["code"]))
    return found


EXAMPLES = examples()


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    gateways = Gateways(tmp_path_factory.mktemp("gateway"))
    try:
        yield gateways.start(REPO / "examples" / "quickstart.toml")
    finally:
        gateways.close()


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = clean_env()
    env.pop("PYTEST_ADDOPTS", None)
    env.pop("PYTEST_PLUGINS", None)
    return subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_every_python_block_is_collected() -> None:
    text = "".join(doc.read_text(encoding="utf-8") for doc in _DOCS)
    assert len(EXAMPLES) == text.count("```python\n") >= 6
    assert {mark for _, mark, _ in EXAMPLES} <= _MARKS


@pytest.mark.parametrize(("where", "mark", "code"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_example_runs_as_written(
    where: str, mark: str | None, code: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    os.symlink(REPO / "examples", tmp_path / "examples")
    if mark == "server":
        gateway: Gateway = request.getfixturevalue("quickstart")
        assert "127.0.0.1:4000" in code, f"{where}: a server example talks to 127.0.0.1:4000"
        code = code.replace("127.0.0.1:4000", f"127.0.0.1:{gateway.port}")
    if mark == "pytest":
        script = tmp_path / "test_example.py"
        script.write_text(code, encoding="utf-8")
        done = run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], tmp_path)
        assert done.returncode == 0, f"{where}:\n{done.stdout}\n{done.stderr}"
        assert re.search(r"\b[1-9]\d* passed\b", done.stdout) and "skipped" not in done.stdout
        return
    script = tmp_path / "example.py"
    script.write_text(code, encoding="utf-8")
    done = run([sys.executable, str(script)], tmp_path)
    assert done.returncode == 0, f"{where}:\n{done.stdout}\n{done.stderr}"
