"""`${VAR}` interpolation edge cases, and "empty means not set"."""

from __future__ import annotations

import pytest

from literllm.config import interpolate, parse_config
from literllm.config.interpolate import interpolate_with_positions

ENV = {"A": "alpha", "B": "beta", "EMPTY": ""}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("${A}", "alpha"),
        ("x${A}y${B}z", "xalphaybetaz"),
        ("${UNSET}", ""),
        ("${EMPTY}", ""),
        ("${A", "${A"),  # unclosed: literal
        ("${A}${", "alpha${"),
        ("$A", "$A"),  # no braces: literal
        ("$", "$"),
        ("$$", "$$"),
        ("$${A}", "$alpha"),
        ("${}", "${}"),  # empty name: literal
        ("${ A }", "${ A }"),  # not a variable name: literal
        ("${1A}", "${1A}"),
        ("${A-B}", "${A-B}"),
        ("${A${B}}", "${Abeta}"),  # nested: only the inner reference is one
        ("{${A}}", "{alpha}"),
        ("${A}}", "alpha}"),
    ],
)
def test_interpolation_rules(raw: str, expected: str) -> None:
    assert interpolate(raw, ENV) == expected


def test_values_are_not_rescanned() -> None:
    assert interpolate("${A}", {"A": "${B}", "B": "no"}) == "${B}"


def test_interpolate_reads_os_environ_at_call_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LITERLLM_TEST_VAR", "from-env")
    assert interpolate("${LITERLLM_TEST_VAR}") == "from-env"


def test_offsets_map_back_to_the_raw_text() -> None:
    source = interpolate_with_positions("ab${A}cd${UNSET}${B}ef", ENV)
    assert source.text == "abalphacdbetaef"
    assert source.raw_offset(1) == 1
    assert source.raw_offset(3) == 2  # inside "alpha": the "$" of ${A}
    assert source.raw_offset(7) == 6  # "c"
    assert source.raw_offset(9) == 16  # "b" of "beta", after the empty ${UNSET}
    assert source.raw_offset(13) == 20  # "e"


def test_unset_optional_strings_mean_not_set() -> None:
    text = (
        '[general]\nmaster_key = "${UNSET}"\n'
        '[[models]]\nname = "m"\nprovider_model = "openai/gpt-4o"\n'
        'api_key = "${OPENAI_API_KEY}"\nbase_url = ""\n'
        '[[aliases]]\npattern = "x/*"\napi_key = ""\nbase_url = "${UNSET}"\n'
        '[[keys]]\nkey = "vk-abcdefgh"\ndescription = ""\n'
        '[health]\nprobe_model = ""\n'
        '[cache]\nmax_entries = 1\n[cache.backend_config]\npassword = "${UNSET}"\nhost = "h"\n'
    )
    config = parse_config(text, "t.toml", environ={})
    assert config.general.master_key is None
    assert config.models[0].api_key is None and config.models[0].base_url is None
    assert config.aliases[0].api_key is None and config.aliases[0].base_url is None
    assert config.keys[0].description is None
    assert config.health is not None and config.health.probe_model is None
    assert config.cache is not None and config.cache.backend_config == {"host": "h"}


def test_set_variables_are_used() -> None:
    text = '[general]\nmaster_key = "${K}"\n[server]\nport = ${PORT}\n'
    config = parse_config(text, "t.toml", environ={"K": "sk-secret-1", "PORT": "8080"})
    assert config.general.master_key == "sk-secret-1"
    assert config.server.port == 8080


def test_default_environ_is_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LITERLLM_TEST_KEY", "sk-from-env")
    config = parse_config('[general]\nmaster_key = "${LITERLLM_TEST_KEY}"\n')
    assert config.general.master_key == "sk-from-env"


def test_unclosed_reference_stays_literal_in_values() -> None:
    config = parse_config('[general]\nmaster_key = "${OOPS"\n', "t.toml", environ={"OOPS": "x"})
    assert config.general.master_key == "${OOPS"
