"""Every error form: exact message, line and column."""

from __future__ import annotations

import pytest

from literllm.config import parse_config
from literllm.errors import ConfigError

MODELS_FIELDS = "name, provider_model, api_key, base_url, timeout_secs, fallbacks, weight"


def error(text: str, environ: dict[str, str] | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "liter-llm-proxy.toml", environ=environ or {})
    return caught.value


def test_unknown_field_in_second_model_names_table_line_and_suggestion() -> None:
    text = (
        "[server]\nport = 4000\n\n"
        '[[models]]\nname = "a"\nprovider_model = "openai/gpt-4o"\n\n'
        '[[models]]\n  nme = "b"\nprovider_model = "openai/gpt-4o"\n'
    )
    err = error(text)
    assert str(err) == (
        'liter-llm-proxy.toml:9:3: unknown field "nme" in [[models]] #2; '
        f'expected one of: {MODELS_FIELDS} (did you mean "name"?)'
    )
    assert (err.path, err.line, err.column) == ("liter-llm-proxy.toml", 9, 3)


def test_unknown_top_level_table() -> None:
    err = error("# comment\n[servr]\nport = 1\n")
    assert str(err).startswith(
        'liter-llm-proxy.toml:2:1: unknown table "servr" in the top level; expected one of: '
        "server, general, models,"
    )
    assert str(err).endswith('(did you mean "server"?)')


def test_unknown_field_without_close_match_has_no_suggestion() -> None:
    err = error("[cooldown]\nduration_secs = 1\nzzz = 2\n")
    assert str(err) == (
        'liter-llm-proxy.toml:3:1: unknown field "zzz" in [cooldown]; '
        "expected one of: duration_secs"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '[server]\nport = "4000"\n',
            '2:1: wrong type (string) for "port" in [server]; expected an integer from 0 '
            "to 65535 (0 picks a free port)",
        ),
        (
            "[general]\nmax_retries = 1.5\n",
            '2:1: wrong type (float) for "max_retries" in [general]; expected an integer from '
            "0 to 4294967295",
        ),
        (
            "[general]\nenable_tracing = 1\n",
            '2:1: wrong type (integer) for "enable_tracing" in [general]; expected true or false',
        ),
        (
            '[[models]]\nname = "a"\nprovider_model = "x/y"\nfallbacks = "b"\n',
            '4:1: wrong type (string) for "fallbacks" in [[models]] #1; expected an array of '
            "strings",
        ),
        (
            '[[models]]\nname = "a"\nprovider_model = "x/y"\nfallbacks = [3]\n',
            '4:14: wrong type (integer) for item 1 of "fallbacks" in [[models]] #1; expected a '
            "string",
        ),
        (
            "server = 5\n",
            '1:1: wrong type (integer) for "server" in the top level; expected a table',
        ),
        (
            "[server]\nhost = 1979-05-27T07:32:00Z\n",
            '2:1: wrong type (date-time) for "host" in [server]; expected a string',
        ),
        (
            '[budget.model_limits]\n"openai/gpt-4o" = "lots"\n',
            '2:1: wrong type (string) for "openai/gpt-4o" in [budget.model_limits]; expected '
            "a non-negative number",
        ),
        (
            "[cache]\nmax_entries = 1\n[cache.backend_config]\nendpoint = [1]\n",
            '4:1: wrong type (array) for "endpoint" in [cache.backend_config]; expected one of '
            "a string, an integer, a number or true or false",
        ),
    ],
)
def test_wrong_types_name_the_expected_type(text: str, expected: str) -> None:
    assert str(error(text)) == "liter-llm-proxy.toml:" + expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "[rate_limit]\nrpm = -1\n",
            '2:1: negative value -1 for "rpm" in [rate_limit]; expected an integer from 0 to '
            "4294967295",
        ),
        (
            '[[keys]]\nkey = "vk-abcdefgh"\nbudget_limit = -0.5\n',
            '3:1: negative value -0.5 for "budget_limit" in [[keys]] #1; expected a '
            "non-negative number",
        ),
        (
            "[server]\nport = 70000\n",
            '2:1: out-of-range value 70000 for "port" in [server]; expected an integer from 0 '
            "to 65535 (0 picks a free port)",
        ),
        (
            "[server]\nport = -1\n",
            '2:1: negative value -1 for "port" in [server]; expected an integer from 0 to 65535 '
            "(0 picks a free port)",
        ),
        (
            '[[models]]\nname = "a"\nprovider_model = "x/y"\nweight = 0\n',
            '4:1: out-of-range value 0 for "weight" in [[models]] #1; expected a number greater '
            "than 0",
        ),
        (
            "[routing]\nbackoff_max_secs = nan\n",
            '2:1: out-of-range value nan for "backoff_max_secs" in [routing]; expected a '
            "non-negative number",
        ),
    ],
)
def test_negative_and_out_of_range_numbers(text: str, expected: str) -> None:
    assert str(error(text)) == "liter-llm-proxy.toml:" + expected


def test_bad_enum_values() -> None:
    err = error('[budget]\nglobal_limit = 10.0\nenforcement = "medium"\n')
    assert str(err) == (
        'liter-llm-proxy.toml:3:1: invalid value "medium" for "enforcement" in [budget]; '
        'expected "hard" or "soft"'
    )
    err = error('[routing]\nstrategy = "random"\n')
    assert str(err) == (
        'liter-llm-proxy.toml:2:1: invalid value "random" for "strategy" in [routing]; '
        'expected one of "least_busy", "lowest_latency", "round_robin" or "weighted"'
    )
    err = error("[state]\nbackend = 3\n")
    assert str(err).startswith('liter-llm-proxy.toml:2:1: wrong type (integer) for "backend"')


def test_missing_required_fields_point_at_the_table_header() -> None:
    text = '[[models]]\nname = "a"\nprovider_model = "x/y"\n\n[[models]]\nname = "b"\n'
    assert str(error(text)) == (
        'liter-llm-proxy.toml:5:1: missing required field "provider_model" in [[models]] #2; '
        'expected a string of the form "provider/model", e.g. "openai/gpt-4o"'
    )
    assert str(error("[general]\n\n[cooldown]\n")) == (
        'liter-llm-proxy.toml:3:1: missing required field "duration_secs" in [cooldown]; '
        "expected duration_secs = <seconds>"
    )
    assert str(error('[[aliases]]\napi_key = "x"\n')).startswith(
        'liter-llm-proxy.toml:1:1: missing required field "pattern" in [[aliases]] #1'
    )
    assert str(error("[[keys]]\nrpm = 1\n")).startswith(
        'liter-llm-proxy.toml:1:1: missing required field "key" in [[keys]] #1'
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '[[keys]]\nkey = ""\n',
            '2:1: empty value for "key" in [[keys]] #1; expected the bearer token clients '
            'present, e.g. key = "vk-team-a"',
        ),
        (
            '[[models]]\nname = "${NAME}"\nprovider_model = "x/y"\n',
            '2:9: unset variable ${NAME} leaves "name" in [[models]] #1 empty; expected NAME '
            "set in the environment (this value is required)",
        ),
        (
            '[[models]]\nname = "a"\nprovider_model = ""\n',
            '3:1: empty value for "provider_model" in [[models]] #1; expected a string of the '
            'form "provider/model", e.g. "openai/gpt-4o"',
        ),
        (
            '[[aliases]]\npattern = ""\n',
            '2:1: empty value for "pattern" in [[aliases]] #1; expected a glob such as '
            'pattern = "anthropic/*"',
        ),
    ],
)
def test_required_field_that_ends_up_empty(text: str, expected: str) -> None:
    assert str(error(text)) == "liter-llm-proxy.toml:" + expected


@pytest.mark.parametrize("bad", ["gpt-4o", "/gpt-4o", "openai/", "open ai/x"])
def test_provider_model_must_be_provider_slash_model(bad: str) -> None:
    err = error(f'[[models]]\nname = "a"\nprovider_model = "{bad}"\n')
    assert str(err) == (
        f'liter-llm-proxy.toml:3:1: invalid provider_model "{bad}" in [[models]] #1; '
        'expected the form "provider/model", e.g. "openai/gpt-4o"'
    )


@pytest.mark.parametrize(
    ("text", "line", "column", "reason", "table"),
    [
        ("[server]\nport = \n", 2, 8, "invalid value", "[server]"),
        ('[[models]]\nname = "a\n', 2, 10, "illegal character '\\n'", "[[models]] #1"),
        ("[server]\n[server]\n", 2, 8, "cannot declare ('server',) twice", "[server]"),
        ("x = [1, 2", 1, 10, "unclosed array", "the top level"),
    ],
)
def test_toml_syntax_errors(text: str, line: int, column: int, reason: str, table: str) -> None:
    err = error(text)
    assert (err.line, err.column) == (line, column)
    assert str(err) == (
        f"liter-llm-proxy.toml:{line}:{column}: TOML syntax error ({reason}) in {table}; "
        "expected valid TOML (https://toml.io)"
    )


def test_deep_nesting_is_a_config_error_not_a_recursion_error() -> None:
    err = error("x = " + "[" * 50_000)
    assert "nested too deeply" in str(err)


def test_invalid_utf8_names_line_and_column() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(b'[server]\nhost = "\xff"\n', "c.toml", environ={})
    assert str(caught.value) == (
        "c.toml:2:9: invalid UTF-8 byte 0xff in the document; expected a UTF-8 text file"
    )


def test_positions_refer_to_the_raw_text_not_the_interpolated_one() -> None:
    text = '[server]\nhost = "${HOST}"  ;  port = 1\n'
    err = error(text, {"HOST": "a-much-longer-value"})
    # the syntax error is at the ";" in the raw text, column 19
    assert (err.line, err.column) == (2, 19)
    err = error('[server]\nhost = "${MULTI}"\n', {"MULTI": "a\nb"})
    assert (err.line, err.column) == (2, 9)  # inside the value: points at its "$"


def test_dotted_keys_inline_tables_and_quoted_keys_are_located() -> None:
    assert error("server.port = 1\nserver.host = 2\n").line == 2
    err = error("[budget]\nmodel_limits = { 'a/b' = 1.0, \"c/d\" = -2.0 }\n")
    assert (err.line, err.column) == (2, 31)
    err = error('models = [\n  { name = "a", provider_model = "x/y" },\n  { name = "b" },\n]\n')
    assert str(err).startswith(
        'liter-llm-proxy.toml:3:3: missing required field "provider_model" in [[models]] #2'
    )


def test_subtable_of_an_array_table_is_located_in_the_right_element() -> None:
    text = (
        '[[models]]\nname = "a"\nprovider_model = "x/y"\n'
        '[[models]]\nname = "b"\nprovider_model = "x/y"\ntimeout_secs = -1\n'
    )
    assert error(text).line == 7


def test_strings_with_brackets_and_multiline_values_do_not_confuse_the_locator() -> None:
    text = (
        '[general]\nmaster_key = """\n[server]\nport = 1\n"""\n'
        '[[keys]]\nkey = "[[models]] \\" # x"\nrpm = -4\n'
    )
    err = error(text)
    assert (err.line, err.column) == (8, 1)
    assert 'for "rpm" in [[keys]] #1' in str(err)


def test_no_traceback_context_is_chained() -> None:
    err = error("[server]\nport = -1\n")
    assert err.__cause__ is None and err.__suppress_context__
