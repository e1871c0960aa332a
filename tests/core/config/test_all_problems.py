"""Every problem of a file in one run, and unset `${VAR}` references named."""

from __future__ import annotations

import pytest

from literllm.config import parse_config, parse_config_report
from literllm.errors import ConfigError, ConfigErrors

THREE_MISTAKES = """\
[server]
port = -1

[[models]]
name = "a"
provider_model = "openai/gpt-4o"
fallbacks = ["nope"]

[cache]
backend = "memoyr"
"""


def test_every_problem_is_reported_at_once_in_file_order() -> None:
    with pytest.raises(ConfigErrors) as caught:
        parse_config(THREE_MISTAKES, "gateway.toml", environ={})
    errors = caught.value.errors
    assert [(e.line, e.column) for e in errors] == [(2, 1), (7, 1), (10, 1)]
    assert 'negative value -1 for "port"' in errors[0].detail
    assert 'fallback "nope" is not a defined model' in errors[1].detail
    assert 'unknown backend "memoyr"' in errors[2].detail
    lines = str(caught.value).splitlines()
    assert len(lines) == 3 and all(line.startswith("gateway.toml:") for line in lines)
    # the first error's position stays the error's own, as for a single problem
    assert (caught.value.line, caught.value.column) == (2, 1)


def test_one_problem_is_a_plain_config_error() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config("[server]\nport = -1\n", "g.toml", environ={})
    assert not isinstance(caught.value, ConfigErrors)


def test_a_misspelt_required_field_is_reported_once() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config('[[models]]\nnme = "a"\nprovider_model = "x/y"\n', "g.toml", environ={})
    assert not isinstance(caught.value, ConfigErrors)
    assert 'unknown field "nme"' in str(caught.value) and 'did you mean "name"' in str(caught.value)


def test_an_unset_variable_in_an_optional_field_is_a_warning_naming_it() -> None:
    text = '[[models]]\nname = "a"\nprovider_model = "openai/gpt-4o"\napi_key = "${MY_KEY}"\n'
    report = parse_config_report(text, "g.toml", environ={})
    assert report.config.models[0].api_key is None
    [warning] = report.warnings
    assert (warning.line, warning.column) == (4, 12)  # the `$`
    assert "${MY_KEY}" in warning.detail and '"api_key" in [[models]] #1' in warning.detail
    assert parse_config_report(text, "g.toml", environ={"MY_KEY": "k"}).warnings == []


def test_an_unset_variable_in_a_required_field_is_an_error_naming_it() -> None:
    text = '[[keys]]\nkey = "${TEAM_KEY}"\n'
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "g.toml", environ={})
    assert str(caught.value) == (
        'g.toml:2:8: unset variable ${TEAM_KEY} leaves "key" in [[keys]] #1 empty; expected '
        "TEAM_KEY set in the environment (this value is required)"
    )


def test_an_unset_variable_inside_an_endpoint_is_an_error_naming_it() -> None:
    text = (
        '[cache]\nbackend = "redis"\n[cache.backend_config]\n'
        'endpoint = "redis://${REDIS_HOST}:6379"\n'
    )
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "g.toml", environ={})
    assert caught.value.line == 4
    assert "${REDIS_HOST}" in caught.value.detail and '"endpoint"' in caught.value.detail
    assert "[cache.backend_config]" in caught.value.detail
    whole = '[[models]]\nname = "a"\nprovider_model = "x/y"\nbase_url = "${BASE}"\n'
    report = parse_config_report(whole, "g.toml", environ={})  # the whole value: "not set"
    assert report.config.models[0].base_url is None and len(report.warnings) == 1


def test_an_unset_variable_in_an_array_is_an_error_naming_it() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config('[[keys]]\nkey = "k"\nmodels = ["${M}"]\n', "g.toml", environ={})
    assert "${M}" in str(caught.value) and 'item 1 of "models"' in str(caught.value)


def test_references_in_comments_are_ignored() -> None:
    text = (
        '# api_key = "${COMMENTED}"\n[[models]]\nname = "a"  # or "${ALSO_COMMENTED}"\n'
        'provider_model = "x/y"\n'
    )
    assert parse_config_report(text, "g.toml", environ={}).warnings == []


def test_errors_carry_the_warnings_found_with_them() -> None:
    text = '[server]\nport = -1\n[general]\nmaster_key = "${MASTER}"\n'
    with pytest.raises(ConfigError) as caught:
        parse_config_report(text, "g.toml", environ={})
    assert [w.line for w in caught.value.warnings] == [4]
