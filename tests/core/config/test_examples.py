"""Every file under examples/ loads, with the variables it references left unset."""

from __future__ import annotations

from pathlib import Path

import pytest

from literllm.config import Config, load_config
from tests.support.paths import REPO

EXAMPLES = REPO / "examples"
EXAMPLE_FILES = sorted(EXAMPLES.rglob("*.toml"))


def test_there_are_examples() -> None:
    names = {path.relative_to(EXAMPLES).as_posix() for path in EXAMPLE_FILES}
    assert {"quickstart.toml", "full.toml"} <= names
    assert len([n for n in names if n.startswith("reference/")]) == 15


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.relative_to(EXAMPLES).as_posix())
def test_example_loads_with_variables_unset(path: Path) -> None:
    assert isinstance(load_config(path, environ={}), Config)


def test_quickstart_is_offline_and_ready() -> None:
    config = load_config(EXAMPLES / "quickstart.toml", environ={})
    assert config.general.master_key == "sk-local-dev"
    assert {m.provider for m in config.models} == {"mock"}
    pools = [m.name for m in config.models]
    assert pools.count("chat") == 2
    assert any(m.fallbacks for m in config.models)
    assert len(config.keys) == 1
    assert config.cache is not None
    assert (config.cache.backend, config.cache.max_entries) == ("memory", 1000)


def test_full_example_sets_every_table_and_field() -> None:
    text = (EXAMPLES / "full.toml").read_text()
    config = load_config(EXAMPLES / "full.toml", environ={})
    for table in (
        "server",
        "general",
        "rate_limit",
        "budget",
        "cache",
        "files",
        "health",
        "cooldown",
        "routing",
        "state",
    ):
        struct = getattr(config, table)
        assert struct is not None
        for field in struct.__struct_fields__:
            written = f"\n{field} =" in text or f"[{table}.{field}]" in text
            assert written, f"{table}.{field} missing from full.toml"
    for array, struct in (
        ("models", config.models[0]),
        ("aliases", config.aliases[1]),
        ("keys", config.keys[0]),
    ):
        for field in struct.__struct_fields__:
            assert f"\n{field} =" in text, f"{array}.{field} missing from full.toml"
