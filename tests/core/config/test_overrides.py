"""Precedence: defaults < file < flags actually given; the master key's env fallback."""

from __future__ import annotations

import pytest

from literllm.config import Config, apply_overrides, parse_config
from literllm.errors import ConfigError

FILE = '[server]\nhost = "10.0.0.1"\nport = 5000\n[general]\nmaster_key = "sk-from-file"\n'


def from_file() -> Config:
    return parse_config(FILE, environ={})


def test_flags_left_out_never_override_the_file() -> None:
    config = apply_overrides(from_file(), environ={"LITER_LLM_MASTER_KEY": "sk-env"})
    assert (config.server.host, config.server.port) == ("10.0.0.1", 5000)
    assert config.general.master_key == "sk-from-file"


def test_given_flags_win_over_the_file() -> None:
    config = apply_overrides(
        from_file(), host="127.0.0.1", port=0, master_key="sk-flag", environ={}
    )
    assert (config.server.host, config.server.port) == ("127.0.0.1", 0)
    assert config.general.master_key == "sk-flag"


def test_flags_win_over_defaults_and_defaults_stay_otherwise() -> None:
    config = apply_overrides(Config(), port=8080, environ={})
    assert (config.server.host, config.server.port) == ("0.0.0.0", 8080)
    assert config.general.master_key is None


def test_master_key_falls_back_to_the_environment_only_when_unset() -> None:
    env = {"LITER_LLM_MASTER_KEY": "sk-env"}
    assert apply_overrides(Config(), environ=env).general.master_key == "sk-env"
    assert apply_overrides(Config(), master_key="sk-flag", environ=env).general.master_key == (
        "sk-flag"
    )
    assert apply_overrides(from_file(), environ=env).general.master_key == "sk-from-file"
    empty = {"LITER_LLM_MASTER_KEY": ""}
    assert apply_overrides(Config(), environ=empty).general.master_key is None


def test_an_empty_master_key_flag_counts_as_not_given() -> None:
    assert apply_overrides(from_file(), master_key="", environ={}).general.master_key == (
        "sk-from-file"
    )


def test_environ_defaults_to_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LITER_LLM_MASTER_KEY", "sk-os-env")
    assert apply_overrides(Config()).general.master_key == "sk-os-env"
    monkeypatch.delenv("LITER_LLM_MASTER_KEY")
    assert apply_overrides(Config()).general.master_key is None


def test_the_input_config_is_not_modified() -> None:
    original = from_file()
    apply_overrides(original, host="h", port=1, master_key="k", environ={})
    assert original == from_file()


@pytest.mark.parametrize("port", [-1, 65536, True])
def test_out_of_range_port_flag(port: int) -> None:
    with pytest.raises(ConfigError, match=r"for --port; expected an integer from 0 to 65535"):
        apply_overrides(Config(), port=port, environ={})


def test_empty_host_flag() -> None:
    with pytest.raises(ConfigError, match="empty value for --host"):
        apply_overrides(Config(), host=" ", environ={})
