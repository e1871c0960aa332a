"""Cross-field checks at load: each error points at the offending field's line."""

from __future__ import annotations

import pytest

from literllm.config import is_provider_model, parse_config
from literllm.errors import ConfigError


def error(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "c.toml", environ={})
    return caught.value


def model(name: str, fallbacks: str = "", provider_model: str = "openai/gpt-4o") -> str:
    extra = f"fallbacks = [{fallbacks}]\n" if fallbacks else ""
    return f'[[models]]\nname = "{name}"\nprovider_model = "{provider_model}"\n{extra}'


def test_fallback_to_an_undefined_model() -> None:
    err = error(model("gpt-4o", '"claude-sonet"') + model("claude-sonnet"))
    assert str(err) == (
        'c.toml:4:1: fallback "claude-sonet" is not a defined model in [[models]] #1; '
        "expected one of the [[models]] names: gpt-4o, claude-sonnet "
        '(did you mean "claude-sonnet"?)'
    )


def test_fallback_cycle_is_named() -> None:
    text = model("a", '"b"') + model("b", '"c"') + model("c", '"a"')
    err = error(text)
    assert str(err) == (
        "c.toml:4:1: fallback cycle a -> b -> c -> a in [[models]] #1; "
        "expected fallbacks that never lead back to a model already tried"
    )


def test_self_fallback_is_a_cycle() -> None:
    err = error(model("solo") + model("a", '"a"'))
    assert str(err).startswith("c.toml:7:1: fallback cycle a -> a in [[models]] #2;")


def test_cycle_through_a_pool_member_is_found() -> None:
    text = model("a", '"b"') + model("b") + model("b", '"a"')
    assert "fallback cycle a -> b -> a" in str(error(text))
    assert error(text).line == 4


def test_acyclic_fallback_chain_loads() -> None:
    text = model("a", '"b", "c"') + model("b", '"c"') + model("c")
    assert [m.fallbacks for m in parse_config(text, environ={}).models] == [["b", "c"], ["c"], []]


def test_duplicate_virtual_keys_name_both_tables_but_not_the_token() -> None:
    text = (
        '[[keys]]\nkey = "vk-secret-one"\n'
        '[[keys]]\nkey = "vk-secret-two"\n'
        '[[keys]]\nrpm = 3\nkey = "vk-secret-one"\n'
    )
    err = error(text)
    assert str(err) == (
        "c.toml:7:1: duplicate virtual key token in [[keys]] #3 (the same token as "
        "[[keys]] #1); expected every key to be unique"
    )
    assert "vk-secret" not in str(err)


def test_memory_cache_without_max_entries_points_at_the_table() -> None:
    err = error("[server]\nport = 1\n\n[cache]\nttl_seconds = 5\n")
    assert str(err) == (
        'c.toml:4:1: missing field "max_entries" in [cache]; expected max_entries = <entries> '
        'when backend = "memory" (the in-memory LRU needs a capacity)'
    )


def test_non_memory_cache_needs_no_max_entries() -> None:
    config = parse_config('[cache]\nbackend = "fs"\n', environ={})
    assert config.cache is not None and config.cache.max_entries is None


@pytest.mark.parametrize(("table", "line"), [("cache", 3), ("files", 2)])
def test_unknown_backend_scheme(table: str, line: int) -> None:
    capacity = "max_entries = 1\n" if table == "cache" else ""
    err = error(f'[{table}]\n{capacity}backend = "redsi"\n')
    assert str(err).startswith(
        f'c.toml:{line}:1: unknown backend "redsi" in [{table}]; expected one of: aliyun-drive, '
    )
    assert str(err).endswith('(did you mean "redis"?)')


def test_opendal_scheme_missing_from_the_installed_package_says_so() -> None:
    err = error('[files]\nbackend = "rocksdb"\n')
    assert str(err).startswith(
        'c.toml:2:1: backend "rocksdb" (an OpenDAL service the installed opendal lacks) in '
        "[files]; expected one of:"
    )


@pytest.mark.parametrize("scheme", ["memory", "fs", "redis", "s3", "gcs", "azblob", "mini_moka"])
def test_known_backend_schemes_load(scheme: str) -> None:
    config = parse_config(f'[files]\nbackend = "{scheme}"\n', environ={})
    assert config.files is not None and config.files.backend == scheme


def test_health_interval_without_probe_model() -> None:
    err = error("[health]\n\ninterval_secs = 30\n")
    assert str(err) == (
        'c.toml:3:1: missing field "probe_model" in [health]; expected probe_model = '
        '"<model>" when interval_secs is set'
    )


def test_health_probe_model_must_resolve() -> None:
    err = error(model("gpt-4o") + '[health]\ninterval_secs = 30\nprobe_model = "gpt4o"\n')
    assert str(err) == (
        'c.toml:6:1: unknown probe_model "gpt4o" in [health]; expected a [[models]] name or '
        'a provider/model name such as "openai/gpt-4o-mini" (did you mean "gpt-4o"?)'
    )
    for probe in ("gpt-4o", "openai/gpt-4o-mini"):
        text = model("gpt-4o") + f'[health]\ninterval_secs = 30\nprobe_model = "{probe}"\n'
        health = parse_config(text, environ={}).health
        assert health is not None and health.probe_model == probe


def test_probe_model_without_interval_loads() -> None:
    health = parse_config('[health]\nprobe_model = "openai/x"\n', environ={}).health
    assert health is not None and health.interval_secs is None


def test_key_models_must_be_defined_or_provider_slash_model() -> None:
    base = model("gpt-4o") + '[[keys]]\nkey = "vk-abcdefgh"\n'
    err = error(base + 'models = ["gpt-4o", "gpt4"]\n')
    assert str(err) == (
        'c.toml:6:1: unknown model "gpt4" in [[keys]] #1; expected one of the [[models]] '
        'names (gpt-4o) or a provider/model name (did you mean "gpt-4o"?)'
    )
    config = parse_config(base + 'models = ["gpt-4o", "anthropic/claude-3"]\n', environ={})
    assert config.keys[0].models == ["gpt-4o", "anthropic/claude-3"]


def test_key_models_without_any_models_table_load_with_a_warning_instead() -> None:
    config = parse_config('[[keys]]\nkey = "vk-abcdefgh"\nmodels = ["gpt-4o"]\n', environ={})
    assert config.keys[0].models == ["gpt-4o"]


def test_redis_state_needs_a_url() -> None:
    err = error('[state]\nbackend = "redis"\n\n[state.backend_config]\nhost = "x"\n')
    assert str(err) == (
        'c.toml:4:1: missing option "url" in [state.backend_config]; expected url = '
        '"redis://host:6379/0" when backend = "redis"\n'
        'c.toml:5:1: unknown option "host" in [state.backend_config] for backend = "redis"; '
        "expected prefix, timeout_secs, url"
    )
    err = error('[state]\nbackend = "redis"\nbackend_config = { url = 5 }\n')
    assert str(err).startswith('c.toml:3:20: wrong type for option "url"')
    ok = '[state]\nbackend = "redis"\nbackend_config = { url = "redis://r:6379/0" }\n'
    assert parse_config(ok, environ={}).state.backend_config == {"url": "redis://r:6379/0"}


def test_routing_backoff_base_above_max() -> None:
    err = error("[routing]\nbackoff_max_secs = 1.0\nbackoff_base_secs = 2.0\n")
    assert str(err) == (
        "c.toml:3:1: backoff_base_secs 2.0 is above backoff_max_secs 1.0 in [routing]; "
        "expected base <= max"
    )


def test_empty_host_is_an_error() -> None:
    assert str(error('[server]\nhost = ""\n')).startswith(
        'c.toml:2:1: empty value for "host" in [server]; expected a bind address'
    )


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("openai/gpt-4o", True),
        ("a/b/c", True),
        ("gpt-4o", False),
        ("/x", False),
        ("x/", False),
        ("", False),
        ("a b/c", False),
    ],
)
def test_is_provider_model(name: str, expected: bool) -> None:
    assert is_provider_model(name) is expected


def test_unknown_state_option_points_at_its_line() -> None:
    from literllm.config import parse_config
    from literllm.errors import ConfigError

    text = (
        '[state]\nbackend = "sqlite"\n[state.backend_config]\npath = "x.db"\nsynchronus = "full"\n'
    )
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "p.toml", environ={})
    assert str(caught.value).startswith('p.toml:5:1: unknown option "synchronus"')
    assert 'did you mean "synchronous"' in str(caught.value)


@pytest.mark.parametrize(
    ("option", "line"),
    [('synchronous = "sometimes"', "synchronous"), ("path = 3", "path")],
)
def test_mistyped_state_option_points_at_its_line(option: str, line: str) -> None:
    from literllm.config import parse_config
    from literllm.errors import ConfigError

    text = f'[state]\nbackend = "sqlite"\n[state.backend_config]\n{option}\n'
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "p.toml", environ={})
    message = str(caught.value)
    assert message.startswith("p.toml:4:1: ")
    assert f'for option "{line}" in [state.backend_config]' in message
