"""`summary()` (never a secret in full) and `config_warnings()`."""

from __future__ import annotations

import pytest

from literllm.config import Config, config_warnings, parse_config, redact_token, summary
from literllm.config.summary import redact_url

SECRETS = {
    "MK": "sk-master-very-secret",
    "OPENAI": "sk-openai-very-secret",
    "REDIS_PW": "redis-very-secret",
}

TEXT = """
[general]
master_key = "${MK}"

[[models]]
name = "gpt-4o"
provider_model = "openai/gpt-4o"
api_key = "${OPENAI}"
base_url = "https://user:pw-very-secret@api.example.com/v1?token=tok-very-secret"
timeout_secs = 30
fallbacks = ["backup"]

[[models]]
name = "gpt-4o"
provider_model = "azure/gpt-4o"

[[models]]
name = "backup"
provider_model = "groq/llama3"

[[aliases]]
pattern = "anthropic/*"
api_key = "anthropic-very-secret"

[[keys]]
key = "vk-team-very-secret-zz"
description = "Team A"
models = ["gpt-4o"]
rpm = 60
budget_limit = 12.5

[[keys]]
key = "short"

[rate_limit]
rpm = 600

[budget]
global_limit = 1000.0
enforcement = "soft"

[cache]
backend = "redis"
ttl_seconds = 60
[cache.backend_config]
endpoint = "redis://:pw-very-secret@cache:6379/0"
password = "${REDIS_PW}"
api_token = "tok-very-secret"
db = 2

[health]
interval_secs = 15
probe_model = "backup"

[cooldown]
duration_secs = 45

[state]
backend = "redis"
[state.backend_config]
url = "redis://u:pw-very-secret@state:6379"
"""


def loaded() -> Config:
    return parse_config(TEXT, environ=SECRETS)


def test_summary_never_contains_a_secret() -> None:
    text = summary(loaded())
    assert "very-secret" not in text
    assert "short" not in text


def test_summary_lists_every_section() -> None:
    text = summary(loaded())
    assert "master key sk-…et" in text
    assert "  gpt-4o -> openai/gpt-4o (api_key set, base_url https://api.example.com/v1), " in text
    assert "azure/gpt-4o (api_key from provider env); timeout 30s; fallbacks: backup" in text
    assert "  backup -> groq/llama3" in text
    assert "  anthropic/*: api_key set, base_url not set" in text
    assert '  vk-…zz "Team A": models gpt-4o; limits: rpm 60, budget $12.50' in text
    assert "  ***: models all; limits: none" in text
    assert "global rate limit: rpm 600" in text
    assert "budget: global $1,000.00; enforcement soft" in text
    assert "cache: redis (no size cap, ttl 60s); options: endpoint=redis://cache:6379/0, " in text
    assert "password=***, api_token=***, db=2" in text
    assert "files: memory (default" in text
    assert "state: redis (fail closed); options: url=redis://state:6379" in text
    assert "health probes: every 15s using backup" in text
    assert "cooldown: 45s" in text
    assert "routing: round_robin (backoff 0.5s..8s, retry-after cap 30s)" in text


def test_summary_of_defaults_and_extra_lines() -> None:
    text = summary(Config(), extra_lines=["unpriced models: mock/echo"])
    assert text.endswith("unpriced models: mock/echo\n")
    assert "model pools: none" in text and "keys: none" in text and "cache: disabled" in text
    assert "master key none" in text


@pytest.mark.parametrize(
    ("token", "shown"),
    [("", "***"), ("1234567", "***"), ("12345678", "123…78"), ("sk-local-dev", "sk-…ev")],
)
def test_redact_token(token: str, shown: str) -> None:
    assert redact_token(token) == shown


def test_redact_url_drops_credentials() -> None:
    assert redact_url("https://u:p@h:8443/x?k=v#f") == "https://h:8443/x"
    assert redact_url("not a url") == "not a url"
    assert redact_url("user:pw@host") == "***"


def test_warnings_for_a_closed_gateway() -> None:
    (warning,) = config_warnings(Config())
    assert warning.startswith("no master key and no [[keys]]: the gateway is closed")
    assert (
        config_warnings(parse_config('[general]\nmaster_key = "sk-abcdefgh"\n', environ={})) == []
    )


def test_warnings_for_memory_files_and_disabled_probes() -> None:
    text = (
        '[general]\nmaster_key = "sk-abcdefgh"\n[files]\nbackend = "memory"\n'
        '[health]\nprobe_model = "openai/gpt-4o-mini"\n'
    )
    assert config_warnings(parse_config(text, environ={})) == [
        '[files] backend = "memory": uploaded files vanish on restart '
        '(use "fs", "s3", "gcs" or "azblob" to keep them)',
        "[health] probe_model is set without interval_secs: health probes are disabled",
    ]


def test_warnings_for_unroutable_key_models_and_inert_aliases() -> None:
    text = (
        '[[keys]]\nkey = "vk-abcdefgh"\nmodels = ["gpt-4o", "openai/gpt-4o"]\n'
        '[[aliases]]\npattern = "x/*"\napi_key = "${UNSET}"\n'
    )
    warnings = config_warnings(parse_config(text, environ={}))
    assert warnings[0] == (
        "[[keys]] #1 allows gpt-4o, but no [[models]] are defined: requests for those names "
        "cannot be routed"
    )
    assert warnings[1].startswith('[[aliases]] #1 ("x/*") sets neither api_key nor base_url')
    assert "environment variable" in warnings[1]
