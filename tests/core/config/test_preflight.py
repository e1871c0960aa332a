"""check-config's preflight: what will fail at request time, found before the first request
(unknown providers, missing credentials, budget keys that match nothing, backend options)."""

from __future__ import annotations

from pathlib import Path

import pytest

from literllm import BudgetExceededError, Proxy
from literllm.config import ConfigReport, parse_config_report
from literllm.errors import ConfigError
from literllm.providers import ProviderRegistry
from literllm.routing.preflight import Preflight
from literllm.routing.resolve import Resolver
from literllm.testing import FakeClock, FakeUpstream
from tests.support.configs import MASTER, config


def check(text: str, environ: dict[str, str] | None = None) -> ConfigReport:
    env = environ or {}
    return parse_config_report(text, "gw.toml", env, checks=[Preflight(env, config_name="gw.toml")])


def errors(text: str, environ: dict[str, str] | None = None) -> list[ConfigError]:
    with pytest.raises(ConfigError) as caught:
        check(text, environ)
    return list(getattr(caught.value, "errors", [caught.value]))


def model(provider_model: str, extra: str = "", name: str = "m") -> str:
    return f'[[models]]\nname = "{name}"\nprovider_model = "{provider_model}"\n{extra}'


def test_an_unknown_provider_prefix_is_refused_with_a_suggestion() -> None:
    [error] = errors(model("opneai/gpt-4o", 'api_key = "k"\n'))
    assert (error.line, error.column) == (3, 1)
    assert 'unknown provider "opneai"' in error.detail
    assert 'did you mean "openai"?' in error.detail


def test_a_model_without_a_credential_names_the_variable_to_set() -> None:
    [error] = errors(model("openai/gpt-4o"))
    assert error.path == "gw.toml" and error.line == 3
    assert "OPENAI_API_KEY" in error.detail and "api_key" in error.detail
    assert "gw.toml" in error.detail  # the file in use, not a hard-coded name
    check(model("openai/gpt-4o"), {"OPENAI_API_KEY": "sk-x"})
    check(model("openai/gpt-4o", 'api_key = "sk-x"\n'))


ENDPOINTS = {"AWS_REGION": "us-east-1", "VERTEXAI_PROJECT": "proj"}


@pytest.mark.parametrize(
    "provider_model", ["mock/echo", "bedrock/anthropic.claude-3-haiku", "vertex_ai/gemini-2.5-pro"]
)
def test_providers_with_their_own_credential_rules_need_no_key_here(provider_model: str) -> None:
    # mock needs none; Bedrock and Vertex AI fall back to the AWS chain and application
    # default credentials, which may come from the machine itself
    check(model(provider_model), ENDPOINTS)


@pytest.mark.parametrize(
    ("provider_model", "variable"),
    [
        ("bedrock/anthropic.claude-3-haiku", "AWS_REGION"),
        ("vertex_ai/gemini-2.5-pro", "VERTEXAI_PROJECT"),
    ],
)
def test_a_native_provider_without_an_endpoint_names_the_variable(
    provider_model: str, variable: str
) -> None:
    [error] = errors(model(provider_model))
    assert "no endpoint" in error.detail and variable in error.detail


def test_a_vertex_key_file_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    [error] = errors(model("vertex_ai/gemini-2.5-pro", f'api_key = "{missing}"\n'), ENDPOINTS)
    assert "service-account key file" in error.detail and error.line == 4
    present = tmp_path / "sa.json"
    present.write_text("{}")
    check(model("vertex_ai/gemini-2.5-pro", f'api_key = "{present}"\n'), ENDPOINTS)
    [from_env] = errors(
        model("vertex_ai/gemini-2.5-pro"),
        {**ENDPOINTS, "GOOGLE_APPLICATION_CREDENTIALS": str(missing)},
    )
    assert "GOOGLE_APPLICATION_CREDENTIALS" in from_env.detail


def test_an_alias_for_one_provider_without_a_credential_names_the_variable() -> None:
    text = '[[aliases]]\npattern = "groq/*"\n'
    [error] = errors(text)
    assert "GROQ_API_KEY" in error.detail and "[[aliases]] #1" in error.detail
    check(text, {"GROQ_API_KEY": "gsk"})
    check('[[aliases]]\npattern = "groq/*"\napi_key = "gsk"\n')
    [unknown] = errors('[[aliases]]\npattern = "antropic/*"\napi_key = "k"\n')
    assert 'did you mean "anthropic"?' in unknown.detail


BUDGET_MODELS = model("together_ai/llama", 'api_key = "k"\n', "a") + model(
    "openai/gpt-4o", 'api_key = "k"\n', "b"
)


@pytest.mark.parametrize("key", ["together/llama", "together_ai/llama", "openai/gpt-4o"])
def test_model_limit_keys_match_whatever_the_provider_spelling(key: str) -> None:
    report = check(BUDGET_MODELS + f'[budget.model_limits]\n"{key}" = 1.0\n')
    assert report.config.budget is not None


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("openai/gpt-5", "matches no model the gateway serves"),
        ("b", "not per [[models]] name"),
        ("togethr/llama", 'did you mean "together_ai"?'),
    ],
)
def test_model_limit_keys_that_can_match_nothing_are_refused(key: str, expected: str) -> None:
    [error] = errors(BUDGET_MODELS + f'[budget.model_limits]\n"{key}" = 1.0\n')
    assert expected in error.detail and error.line == 10


def test_two_spellings_of_one_model_limit_are_refused() -> None:
    text = BUDGET_MODELS + '[budget.model_limits]\n"together/llama" = 1\n"together_ai/llama" = 2\n'
    [error] = errors(text)
    assert "the same model as" in error.detail and error.line == 11


def test_model_limit_keys_an_alias_or_passthrough_reaches_are_accepted() -> None:
    limits = '[budget.model_limits]\n"groq/llama-3" = 1.0\n'
    check(BUDGET_MODELS + '[[aliases]]\npattern = "groq/*"\napi_key = "g"\n' + limits)
    check("[general]\npassthrough = true\n" + BUDGET_MODELS + limits)


PRICED = "together_ai/MiniMaxAI/MiniMax-M2.5"  # $1.2e-6 per output token in the table


@pytest.mark.parametrize(
    ("served", "limited"),
    [("together_ai", "together"), ("together", "together_ai"), ("together", "together")],
)
async def test_a_model_limit_applies_whichever_spelling_each_side_uses(
    served: str, limited: str
) -> None:
    model_id = PRICED.partition("/")[2]
    text = (
        model(f"{served}/{model_id}", 'api_key = "k"\nbase_url = "https://t.test/v1"\n', "m")
        + f'[budget.model_limits]\n"{limited}/{model_id}" = 0.0001\n'
    )
    proxy = Proxy.from_config(config(text), transport=FakeUpstream(), clock=FakeClock(), environ={})
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 1000}
    async with proxy:
        with pytest.raises(BudgetExceededError) as caught:
            await proxy.chat(body, api_key=MASTER)
    assert f"together_ai/{model_id}" in caught.value.message


def test_backend_options_are_checked_per_service_with_types() -> None:
    head = '[cache]\nbackend = "redis"\n[cache.backend_config]\nendpoint = "redis://r:6379"\n'
    [unknown] = errors(head + "dbb = 1\n")
    assert 'unknown option "dbb"' in unknown.detail and 'did you mean "db"?' in unknown.detail
    assert unknown.line == 5
    [wrong] = errors(head + 'db = "zero"\n')
    assert 'wrong type (string) for option "db"' in wrong.detail and "an integer" in wrong.detail
    check(head + "db = 0\n")
    check(head + 'db = "${DB}"\n', {"DB": "3"})  # a string that reads as the type
    [files] = errors('[files]\nbackend = "fs"\n[files.backend_config]\nroot = true\n')
    assert "[files.backend_config]" in files.detail and "expected a string" in files.detail


def test_state_options_are_typed() -> None:
    [error] = errors(
        '[state]\nbackend = "redis"\n[state.backend_config]\nurl = "redis://r"\n'
        'timeout_secs = "soon"\n'
    )
    assert 'option "timeout_secs"' in error.detail and error.line == 5


def test_key_model_patterns_must_match_something() -> None:
    text = model("mock/echo", name="chat") + '[[keys]]\nkey = "vk"\nmodels = ["gpt-*"]\n'
    [error] = errors(text)
    assert 'pattern "gpt-*"' in error.detail
    check(model("mock/echo", name="chat") + '[[keys]]\nkey = "vk"\nmodels = ["ch*", "x/*"]\n')


def test_all_preflight_problems_come_in_one_run() -> None:
    text = model("opneai/gpt-4o", 'api_key = "k"\n', "a") + model("groq/llama", name="b")
    found = errors(text)
    assert len(found) == 2
    assert "opneai" in found[0].detail and "GROQ_API_KEY" in found[1].detail


@pytest.mark.parametrize(
    ("provider_model", "environ", "endpoint"),
    [
        (
            "bedrock/anthropic.claude-3-haiku",
            {"AWS_REGION": "eu-west-1"},
            "https://bedrock-runtime.eu-west-1.amazonaws.com",
        ),
        (
            "vertex_ai/gemini-2.5-pro",
            {"VERTEXAI_PROJECT": "proj", "VERTEXAI_LOCATION": "europe-west4"},
            "https://europe-west4-aiplatform.googleapis.com/v1/projects/proj/locations/"
            "europe-west4",
        ),
    ],
)
def test_native_providers_take_their_endpoint_from_the_environment(
    provider_model: str, environ: dict[str, str], endpoint: str
) -> None:
    resolver = Resolver(config(model(provider_model)), ProviderRegistry(), environ)
    [deployment] = resolver.pools["m"]
    assert deployment.target.base_url.startswith(endpoint)
    assert deployment.missing_credential is None


def test_a_probe_model_the_passthrough_policy_refuses_is_an_error() -> None:
    health = '[health]\ninterval_secs = 30\nprobe_model = "openai/gpt-4o-mini"\n'
    [error] = errors(model("mock/echo") + health)
    assert 'probe_model "openai/gpt-4o-mini"' in error.detail and error.line == 6
    assert 'pattern = "openai/*"' in error.detail
    check("[general]\npassthrough = true\n" + model("mock/echo") + health)
    check(model("mock/echo") + '[[aliases]]\npattern = "openai/*"\napi_key = "k"\n' + health)
