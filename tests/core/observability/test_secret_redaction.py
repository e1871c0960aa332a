"""Known secrets go in; none of them may come out of any redacted view."""

from __future__ import annotations

import msgspec
import pytest

from literllm.config import parse_config
from literllm.config.summary import summary
from literllm.observability.redact import (
    Redactor,
    effective_config,
    key_label,
    mask_url_credentials,
    redact_token,
)

MASTER = "sk-master-0123456789abcdef"
PROVIDER_KEY = "sk-proj-PROVIDERSECRET987654321"
ALIAS_KEY = "gsk_ALIASSECRET_55555"
VIRTUAL = "vk-team-frontend-secret-42"
VIRTUAL_NO_DESCRIPTION = "vk-anonymous-777777"
REDIS_PASSWORD = "r3disPassw0rd"
S3_SECRET = "AWSSECRETACCESSKEYabc123"
BASE_URL_PASSWORD = "b4sicAuthPw"
QUERY_TOKEN = "QUERYTOKENzzz999"
SECRETS = (
    MASTER, PROVIDER_KEY, ALIAS_KEY, VIRTUAL, VIRTUAL_NO_DESCRIPTION, REDIS_PASSWORD,
    S3_SECRET, BASE_URL_PASSWORD, QUERY_TOKEN,
)  # fmt: skip

TOML = f"""
[general]
master_key = "{MASTER}"
enable_tracing = true

[[models]]
name = "gpt-4o"
provider_model = "openai/gpt-4o"
api_key = "{PROVIDER_KEY}"

[[models]]
name = "local"
provider_model = "openai/llama"
base_url = "https://proxyuser:{BASE_URL_PASSWORD}@llm.internal/v1?api_key={QUERY_TOKEN}&x=1"

[[aliases]]
pattern = "groq/*"
api_key = "{ALIAS_KEY}"

[[keys]]
key = "{VIRTUAL}"
description = "Frontend team"
models = ["gpt-4o"]
budget_limit = 10.0

[[keys]]
key = "{VIRTUAL_NO_DESCRIPTION}"

[cache]
backend = "redis"
backend_config = {{ endpoint = "redis://:{REDIS_PASSWORD}@cache:6379/0", key_prefix = "llm" }}

[files]
backend = "s3"
backend_config = {{ bucket = "files", secret_access_key = "{S3_SECRET}", region = "eu-west-1" }}

[state]
backend = "redis"
backend_config = {{ url = "redis://default:{REDIS_PASSWORD}@state:6379" }}
"""


@pytest.fixture
def config():  # type: ignore[no-untyped-def]
    return parse_config(TOML, environ={})


def assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, secret


def test_redact_token() -> None:
    assert redact_token("vk-team-frontend") == "vk-…nd"
    assert redact_token("12345678") == "123…78"
    assert redact_token("1234567") == "***"
    assert redact_token("") == "***"


def test_key_label_never_shows_the_token() -> None:
    assert key_label(VIRTUAL, "Frontend team") == "Frontend team"
    label = key_label(VIRTUAL_NO_DESCRIPTION)
    assert label.startswith("k-") and len(label) == 18  # the key id (literllm.identity)
    assert label == key_label(VIRTUAL_NO_DESCRIPTION, None)
    assert label != key_label(VIRTUAL)
    assert VIRTUAL_NO_DESCRIPTION not in label


def test_mask_url_credentials() -> None:
    assert mask_url_credentials("redis://:pw@host:6379/0") == "redis://:***@host:6379/0"
    assert mask_url_credentials("redis://user:pw@host") == "redis://user:***@host"
    assert (
        mask_url_credentials("https://h/x?api_key=abc&model=m") == "https://h/x?api_key=***&model=m"
    )
    assert mask_url_credentials("https://api.openai.com/v1") == "https://api.openai.com/v1"


def test_effective_config_has_no_secret_and_keeps_the_rest(config) -> None:  # type: ignore[no-untyped-def]
    data = effective_config(config)
    assert_no_secret(msgspec.json.encode(data).decode())
    assert data["general"]["master_key"] == redact_token(MASTER)
    assert data["models"][0]["api_key"] == redact_token(PROVIDER_KEY)
    assert data["aliases"][0]["api_key"] == redact_token(ALIAS_KEY)
    assert data["keys"][0]["key"] == redact_token(VIRTUAL)
    assert data["files"]["backend_config"]["secret_access_key"] == "***"
    assert data["cache"]["backend_config"]["key_prefix"] == "***"  # name contains "key"
    assert data["cache"]["backend_config"]["endpoint"] == "redis://:***@cache:6379/0"
    assert data["models"][1]["base_url"] == "https://proxyuser:***@llm.internal/v1?api_key=***&x=1"
    # everything else is there, with defaults filled in
    assert data["files"]["backend_config"]["region"] == "eu-west-1"
    assert data["keys"][0]["description"] == "Frontend team"
    assert data["keys"][0]["budget_limit"] == 10.0
    assert data["server"]["port"] == 4000
    assert data["general"]["enable_tracing"] is True
    # the config itself is untouched
    assert config.general.master_key == MASTER


def test_summary_has_no_secret(config) -> None:  # type: ignore[no-untyped-def]
    text = summary(config)
    assert_no_secret(text)
    assert "gpt-4o -> openai/gpt-4o" in text
    assert "Frontend team" in text


def test_redactor_scrubs_every_config_secret(config) -> None:  # type: ignore[no-untyped-def]
    redactor = Redactor.from_config(config, extra=["env-provided-key-1234"])
    text = " | ".join((*SECRETS, "env-provided-key-1234", "ordinary words stay"))
    scrubbed = redactor.scrub(text)
    assert_no_secret(scrubbed)
    assert "env-provided-key-1234" not in scrubbed
    assert scrubbed.endswith("ordinary words stay")


def test_redactor_prefers_the_longest_secret() -> None:
    redactor = Redactor(["abcd", "abcdef", "abxy", "xy"])  # "xy" is too short to scrub
    assert redactor.scrub("abcdefg abcdx abxyz ab xy") == "***g ***x ***z ab xy"


def test_redactor_without_secrets_returns_text_unchanged() -> None:
    text = "nothing to see"
    assert Redactor([]).scrub(text) is text
    assert Redactor(["ab"]).scrub(text) is text


def test_redactor_escapes_regex_characters() -> None:
    redactor = Redactor(["a.b*c+d?", "(x|y)"])
    assert redactor.scrub("a.b*c+d? axbbcd (x|y) x") == "*** axbbcd *** x"


def test_metrics_label_keys_without_their_tokens(config) -> None:  # type: ignore[no-untyped-def]
    from literllm.observability.metrics import Metrics, SpendCap

    labels = [key_label(k.key, k.description) for k in config.keys]
    metrics = Metrics(known_models=["gpt-4o"], known_keys=labels)
    for label in (*labels, key_label(MASTER, "master")):
        metrics.observe_request(model="gpt-4o", deployment="gpt-4o#0", key=label, status=200,
                                duration=0.1, cost=0.5)  # fmt: skip
        metrics.rate_limit_refusal(label, "key", "rpm")
        metrics.budget_refusal(label, "key")
    metrics.update_spend(SpendCap(scope="key", name=label, spent=1.0) for label in labels)
    body, _ = metrics.render()
    assert_no_secret(body.decode())
    assert 'key="Frontend team"' in body.decode()
    assert f'key="{labels[1]}"' in body.decode()
