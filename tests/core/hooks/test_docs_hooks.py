"""The config examples in docs/hooks.md load as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from literllm.config import parse_config

DOC = Path(__file__).resolve().parents[3] / "docs" / "hooks.md"
HEAD = """
[general]
master_key = "x"

[[models]]
name = "gpt-4o"
provider_model = "openai/gpt-4o"

"""
BLOCKS = [
    b
    for b in re.findall(r"```toml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    if "mycompany" not in b  # the user-written example names a module of the reader's
]


def test_the_doc_has_config_examples() -> None:
    assert len(BLOCKS) >= 4


@pytest.mark.parametrize("block", BLOCKS)
def test_config_example_loads(block: str) -> None:
    config = parse_config(HEAD + block, "hooks.md", environ={"LOG_TOKEN": "t"})
    assert config.hooks or config.guardrails


def test_hook_settings_secrets_are_redacted_and_known_to_the_scrubber() -> None:
    from literllm.observability.redact import config_secrets, effective_config

    toml = HEAD + (
        '[[keys]]\nkey = "vk-scoped-secret-77"\n\n'
        '[[hooks]]\npath = "literllm.hooks.sinks:webhook"\nkeys = ["vk-scoped-secret-77"]\n'
        '[hooks.settings]\nurl = "https://logs.example.com/in"\n'
        'headers = { authorization = "Bearer hook-token-123" }\n'
    )
    config = parse_config(toml, "t.toml", environ={})
    shown = str(effective_config(config))
    assert "hook-token-123" not in shown and "vk-scoped-secret-77" not in shown
    assert "https://logs.example.com/in" in shown
    secrets = set(config_secrets(config))
    assert "hook-token-123" in secrets and "Bearer hook-token-123" in secrets
