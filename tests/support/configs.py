"""Build configs from TOML text for tests."""

from __future__ import annotations

from literllm.config import Config, parse_config

MASTER = "sk-master-test-0001"
TEAM = "vk-team-test-0002"


def config(toml: str = "", *, master: bool = True) -> Config:
    head = f'[general]\nmaster_key = "{MASTER}"\n' if master and "[general]" not in toml else ""
    return parse_config(head + toml, "test.toml", environ={})


MOCK_POOL = """
[[models]]
name = "chat"
provider_model = "mock/echo"

[[models]]
name = "upstream"
provider_model = "openai/gpt-4o"
api_key = "sk-upstream-secret-0003"
base_url = "https://api.fake-openai.test/v1"

[[keys]]
key = "vk-team-test-0002"
description = "team"
models = ["chat"]
"""
