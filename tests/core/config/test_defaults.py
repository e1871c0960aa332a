"""Every documented default, from an empty file and from minimal tables."""

from __future__ import annotations

from literllm.config import DEFAULT_STATE_PATH, Config, parse_config


def load(text: str) -> Config:
    return parse_config(text, "t.toml", environ={})


def test_empty_file_gives_every_top_level_default() -> None:
    config = load("")
    assert config == Config()
    assert config.models == [] and config.aliases == [] and config.keys == []
    assert config.rate_limit is None
    assert config.budget is None
    assert config.cache is None
    assert config.files is None
    assert config.health is None
    assert config.cooldown is None


def test_server_defaults() -> None:
    server = load("[server]").server
    assert server.host == "0.0.0.0"
    assert server.port == 4000
    assert server.request_timeout_secs == 600
    assert server.body_limit_bytes == 10_485_760
    assert server.cors_origins == ["*"]


def test_general_defaults() -> None:
    general = load("[general]").general
    assert general.master_key is None
    assert general.default_timeout_secs == 120
    assert general.max_retries == 3
    assert general.enable_cost_tracking is False
    assert general.enable_tracing is False


def test_model_defaults() -> None:
    (model,) = load('[[models]]\nname = "m"\nprovider_model = "openai/gpt-4o"\n').models
    assert model.api_key is None
    assert model.base_url is None
    assert model.timeout_secs is None
    assert model.fallbacks == []
    assert model.weight == 1.0
    assert (model.provider, model.model_id) == ("openai", "gpt-4o")


def test_alias_and_key_defaults() -> None:
    config = load('[[aliases]]\npattern = "anthropic/*"\n[[keys]]\nkey = "vk-abcdefgh"\n')
    (alias,) = config.aliases
    assert alias.api_key is None and alias.base_url is None
    (key,) = config.keys
    assert key.description is None
    assert key.models == []
    assert key.rpm is None and key.tpm is None and key.budget_limit is None


def test_optional_table_defaults() -> None:
    config = load(
        "[rate_limit]\n[budget]\n[cache]\nmax_entries = 1\n[files]\n[health]\n"
        "[cooldown]\nduration_secs = 5\n"
    )
    assert config.rate_limit is not None
    assert (config.rate_limit.rpm, config.rate_limit.tpm) == (None, None)
    assert config.budget is not None
    assert config.budget.global_limit is None
    assert config.budget.model_limits == {}
    assert config.budget.enforcement == "hard"
    assert config.cache is not None
    assert config.cache.ttl_seconds is None
    assert config.cache.backend == "memory"
    assert config.cache.backend_config == {}
    assert config.files is not None
    assert config.files.backend == "memory"
    assert config.files.prefix == "liter-llm-files/"
    assert config.files.backend_config == {}
    assert config.health is not None
    assert (config.health.interval_secs, config.health.probe_model) == (None, None)
    assert config.cooldown is not None and config.cooldown.duration_secs == 5


def test_extension_defaults() -> None:
    config = load("")
    assert config.routing.strategy == "round_robin"
    assert config.routing.backoff_base_secs == 0.5
    assert config.routing.backoff_max_secs == 8.0
    assert config.routing.retry_after_max_secs == 30.0
    assert config.state.backend == "memory"
    assert config.state.backend_config == {}
    assert config.state.fail_open is False


def test_sqlite_state_gets_a_default_path_but_keeps_an_explicit_one() -> None:
    assert load('[state]\nbackend = "sqlite"\n').state.backend_config == {
        "path": DEFAULT_STATE_PATH
    }
    explicit = load('[state]\nbackend = "sqlite"\nbackend_config = { path = "/var/s.db" }\n')
    assert explicit.state.backend_config == {"path": "/var/s.db"}
    assert DEFAULT_STATE_PATH == "liter-llm-state.db"


def test_port_zero_is_accepted() -> None:
    assert load("[server]\nport = 0\n").server.port == 0
