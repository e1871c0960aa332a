"""The installed distribution is `literllm` (the name `liter-llm` on the package index
belongs to another project); the import names and the command keep their names."""

from __future__ import annotations

import tomllib
from importlib import metadata

from tests.support.paths import REPO


def test_the_distribution_is_named_literllm() -> None:
    assert metadata.distribution("literllm").metadata["Name"] == "literllm"
    owners = metadata.packages_distributions()
    assert "literllm" in owners["literllm"]
    assert "literllm" in owners["literllm_server"]


def test_the_command_and_extras_belong_to_it() -> None:
    distribution = metadata.distribution("literllm")
    scripts = {e.name: e.value for e in distribution.entry_points if e.group == "console_scripts"}
    assert scripts == {"liter-llm": "literllm_server.cli:main"}
    extras = distribution.metadata.get_all("Provides-Extra") or []
    assert {"otel", "vertex", "bedrock", "aiohttp", "hypercorn"} <= set(extras)


def test_docs_install_the_distribution_by_its_own_name() -> None:
    assert tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["name"] == "literllm"
    docs = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    for path in [*docs, *sorted((REPO / "literllm").rglob("*.py"))]:
        text = path.read_text()
        assert "install 'liter-llm" not in text and "install liter-llm" not in text, path
