"""Discovery (working directory, then each parent) and explicit paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from literllm.config import CONFIG_FILENAME, Config, discover, find_config, load_config
from literllm.errors import ConfigError

BODY = '[server]\nport = 5001\n[general]\nmaster_key = "${MK}"\n'


def test_discovers_in_a_parent_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / CONFIG_FILENAME).write_text(BODY)
    nested = tmp_path / "a" / "b" / "c"
    nested.mkdir(parents=True)
    monkeypatch.chdir(nested)
    assert discover() == (tmp_path / CONFIG_FILENAME).resolve()
    config = load_config(environ={"MK": "sk-from-env"})
    assert config.server.port == 5001
    assert config.general.master_key == "sk-from-env"


def test_the_nearest_file_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / CONFIG_FILENAME).write_text("[server]\nport = 1\n")
    inner = tmp_path / "inner"
    inner.mkdir()
    (inner / CONFIG_FILENAME).write_text("[server]\nport = 2\n")
    monkeypatch.chdir(inner)
    assert load_config(environ={}).server.port == 2


def test_no_file_anywhere_gives_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nested = tmp_path / "x" / "y"
    nested.mkdir(parents=True)
    monkeypatch.chdir(nested)
    if discover() is not None:  # a stray file above the temp dir would make this meaningless
        pytest.skip("a liter-llm-proxy.toml exists above the temporary directory")
    assert find_config() is None
    assert load_config(environ={}) == Config()


def test_a_directory_with_the_config_name_is_not_a_config(tmp_path: Path) -> None:
    (tmp_path / CONFIG_FILENAME).mkdir()
    assert discover(tmp_path) != (tmp_path / CONFIG_FILENAME).resolve()


def test_explicit_path_disables_discovery(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / CONFIG_FILENAME).write_text("[server]\nport = 1\n")
    other = tmp_path / "other.toml"
    other.write_text("[server]\nport = 2\n")
    monkeypatch.chdir(tmp_path)
    assert load_config(other, environ={}).server.port == 2


def test_missing_explicit_path_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / CONFIG_FILENAME).write_text("[server]\nport = 1\n")
    monkeypatch.chdir(tmp_path)
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as caught:
        load_config(missing, environ={})
    assert str(caught.value) == (
        f"{missing}: config file not found; expected an existing TOML file "
        "(an explicit --config path disables discovery)"
    )
    assert caught.value.path == str(missing) and caught.value.line is None


def test_explicit_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file is a directory"):
        load_config(tmp_path, environ={})


def test_errors_name_the_file_as_given(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[server]\nport = -1\n")
    with pytest.raises(ConfigError) as caught:
        load_config(str(path), environ={})
    assert str(caught.value).startswith(f"{path}:2:1: negative value -1")


def test_discovered_file_is_named_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / CONFIG_FILENAME).write_text("[server]\nport = -1\n")
    nested = tmp_path / "sub"
    nested.mkdir()
    monkeypatch.chdir(nested)
    with pytest.raises(ConfigError) as caught:
        load_config(environ={})
    assert str(caught.value).startswith(f"../{CONFIG_FILENAME}:2:1: ")
