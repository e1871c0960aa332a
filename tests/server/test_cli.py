"""The `liter-llm` command as a user runs it: a real subprocess, exit codes, output."""

from __future__ import annotations

import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import literllm
from literllm.config import Config, load_config
from literllm.config.loader import discover
from tests.support.process import run_cli

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").rglob("*.toml"))

# Values for every ${VAR} the examples use: secrets must come out redacted.
SECRET_ENV = {
    "LITER_LLM_MASTER_KEY": "sk-master-SECRET-from-env-4f1c9a",
    "OPENAI_API_KEY": "sk-openai-SECRET-from-env-77d2e0",
    "ANTHROPIC_API_KEY": "sk-ant-SECRET-from-env-0b9e31",
    "AZURE_OPENAI_KEY": "azure-SECRET-from-env-5c2d88",
    "GROQ_API_KEY": "gsk-SECRET-from-env-a1b2c3",
    "FRONTEND_VIRTUAL_KEY": "vk-frontend-SECRET-from-env-9e8d",
    "REDIS_PASSWORD": "redis-SECRET-from-env-3141",
}
PLAIN_ENV = {"OPENAI_BASE_URL": "https://openai-proxy.example/v1", "VAR": "plain"}


def _secrets(config: Config) -> set[str]:
    """Every token and credential the loaded config holds."""
    found = {config.general.master_key or ""}
    found |= {key.key for key in config.keys}
    found |= {model.api_key or "" for model in config.models}
    found |= {alias.api_key or "" for alias in config.aliases}
    return {secret for secret in found if secret} | set(SECRET_ENV.values())


def _no_traceback(*outputs: str) -> None:
    for output in outputs:
        assert "Traceback" not in output
        assert 'File "' not in output


def test_version() -> None:
    done = run_cli("--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"liter-llm {literllm.__version__}"


def test_help_lists_the_commands() -> None:
    done = run_cli("--help")
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert text.startswith("usage: liter-llm")
    assert "OpenAI-compatible LLM gateway" in text
    assert re.search(r"^\s+api\s+serve the gateway over HTTP$", text, re.M), text
    assert re.search(r"^\s+check-config\s*$", text, re.M), text
    assert "validate the config and print a summary" in text
    assert "--version" in text
    assert "liter-llm-proxy.toml" in text  # says where the config comes from


def test_without_a_command_prints_help() -> None:
    done = run_cli()
    assert done.returncode == 0
    assert "check-config" in done.stdout and "api" in done.stdout


def test_api_help_lists_its_flags() -> None:
    done = run_cli("api", "--help")
    assert done.returncode == 0, done.stderr
    for flag in ("--config", "--host", "--port", "--master-key", "--server", "--workers"):
        assert flag in done.stdout
    assert "hypercorn" in done.stdout


def test_unknown_command_is_a_usage_error() -> None:
    done = run_cli("serve")
    assert done.returncode == 2
    assert "invalid choice" in done.stderr
    _no_traceback(done.stdout, done.stderr)


EXAMPLE_ENV = {**SECRET_ENV, **PLAIN_ENV}


@pytest.fixture(scope="module")
def example_runs() -> dict[Path, subprocess.CompletedProcess[str]]:
    """`check-config` on every example, run concurrently once for the module."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        runs = pool.map(
            lambda path: run_cli("check-config", "--config", str(path), env=EXAMPLE_ENV), EXAMPLES
        )
        return dict(zip(EXAMPLES, runs, strict=True))


@pytest.mark.parametrize("path", EXAMPLES, ids=[str(p.relative_to(ROOT)) for p in EXAMPLES])
def test_check_config_accepts_every_example(
    path: Path, example_runs: dict[Path, subprocess.CompletedProcess[str]]
) -> None:
    env = EXAMPLE_ENV
    done = example_runs[path]
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"config: {path}"
    assert lines[-1] == "ok"
    assert re.search(r"^model pools: (\d+|none)$", done.stdout, re.M)
    assert re.search(r"^keys: (\d+|none)", done.stdout, re.M)
    _no_traceback(done.stdout, done.stderr)
    config = load_config(path, environ=env)
    output = done.stdout + done.stderr
    for secret in _secrets(config):
        assert secret not in output, f"{secret!r} printed in full by check-config"


def test_check_config_summary_of_the_quickstart() -> None:
    done = run_cli("check-config", "--config", str(ROOT / "examples" / "quickstart.toml"))
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "model pools: 2" in out
    assert "chat -> mock/echo" in out
    assert "keys: 1" in out
    assert "Demo virtual key limited to the mock pool" in out
    assert "rpm 60" in out
    assert "cache: memory" in out
    assert "sk-local-dev" not in out
    assert "vk-local-demo" not in out
    assert "master key sk-" in out  # shown, redacted, not omitted


BROKEN = [
    pytest.param(
        '[server]\nport = "4000"\n',
        r"bad\.toml:2:1: wrong type \(string\) for \"port\" in \[server\]",
        id="wrong-type",
    ),
    pytest.param(
        '[[models]]\nname = "a"\nprovider_model = "mock/x"\n\n[[models]]\nnme = "b"\n',
        r"bad\.toml:6:1: unknown field \"nme\" in \[\[models\]\] #2.*did you mean \"name\"",
        id="unknown-field",
    ),
    pytest.param(
        "[server\nport = 1\n",
        r"bad\.toml:1:\d+: ",
        id="syntax",
    ),
    pytest.param(
        '[budget]\nglobal_limit = 1.0\nenforcement = "medium"\n',
        r"bad\.toml:3:1: .*enforcement.*\"hard\".*\"soft\"",
        id="bad-enum",
    ),
    pytest.param(
        "[server]\nport = 70000\n",
        r"bad\.toml:2:1: .*port",
        id="port-range",
    ),
]


@pytest.mark.parametrize(("text", "expected"), BROKEN)
def test_check_config_rejects_a_broken_file(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    done = run_cli("check-config", "--config", str(path))
    assert done.returncode == 1
    _no_traceback(done.stdout, done.stderr)
    assert done.stdout == ""
    first = done.stderr.splitlines()[0]
    assert first.startswith(f"error: {path}:"), done.stderr
    assert re.search(expected, done.stderr), done.stderr


def test_api_rejects_a_broken_file_the_same_way(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[server]\nport = "4000"\n')
    done = run_cli("api", "--config", str(path))
    assert done.returncode == 1
    _no_traceback(done.stdout, done.stderr)
    assert f"error: {path}:2:1: wrong type" in done.stderr


DISCOVERED = """
[general]
master_key = "sk-discovered-master-5150"

[[models]]
name = "discovered-pool"
provider_model = "mock/echo"
"""


def test_check_config_discovers_the_file_in_the_working_directory(tmp_path: Path) -> None:
    (tmp_path / "liter-llm-proxy.toml").write_text(DISCOVERED)
    done = run_cli("check-config", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    source = done.stdout.splitlines()[0].removeprefix("config: ")
    assert (tmp_path / source).resolve() == (tmp_path / "liter-llm-proxy.toml").resolve()
    assert "discovered-pool -> mock/echo" in done.stdout
    assert "sk-discovered-master-5150" not in done.stdout


def test_check_config_discovers_the_file_from_a_nested_directory(tmp_path: Path) -> None:
    (tmp_path / "liter-llm-proxy.toml").write_text(DISCOVERED)
    nested = tmp_path / "a" / "b" / "c"
    nested.mkdir(parents=True)
    done = run_cli("check-config", cwd=nested)
    assert done.returncode == 0, done.stderr
    source = done.stdout.splitlines()[0].removeprefix("config: ")
    assert (nested / source).resolve() == (tmp_path / "liter-llm-proxy.toml").resolve()
    assert "discovered-pool -> mock/echo" in done.stdout


def test_check_config_without_any_file_uses_the_defaults(tmp_path: Path) -> None:
    if discover(tmp_path) is not None:
        pytest.skip("a liter-llm-proxy.toml exists above the temporary directory")
    done = run_cli("check-config", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "no config file found" in done.stdout.splitlines()[0]
    assert "model pools: none" in done.stdout


def test_explicit_config_disables_discovery(tmp_path: Path) -> None:
    (tmp_path / "liter-llm-proxy.toml").write_text(DISCOVERED)
    other = tmp_path / "other.toml"
    other.write_text('[[models]]\nname = "explicit-pool"\nprovider_model = "mock/echo"\n')
    done = run_cli("check-config", "--config", str(other), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "explicit-pool" in done.stdout
    assert "discovered-pool" not in done.stdout


@pytest.mark.parametrize("command", ["check-config", "api"])
def test_a_missing_config_file_is_a_clear_error(tmp_path: Path, command: str) -> None:
    (tmp_path / "liter-llm-proxy.toml").write_text(DISCOVERED)  # must not be used instead
    missing = tmp_path / "nope" / "gateway.toml"
    done = run_cli(command, "--config", str(missing), cwd=tmp_path)
    assert done.returncode == 1
    _no_traceback(done.stdout, done.stderr)
    assert done.stderr.startswith(f"error: {missing}: config file not found"), done.stderr


def test_workers_on_memory_state_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "memory.toml"
    path.write_text('[server]\nhost = "127.0.0.1"\nport = 1\n' + DISCOVERED)
    done = run_cli("api", "--config", str(path), "--workers", "2", timeout=20)
    assert done.returncode == 1
    _no_traceback(done.stdout, done.stderr)
    assert "--workers" in done.stderr
    assert 'backend = "memory"' in done.stderr
    assert "sqlite" in done.stderr and "redis" in done.stderr


def test_backend_that_opendal_cannot_build_is_a_clear_error(tmp_path: Path) -> None:
    config = tmp_path / "liter-llm-proxy.toml"
    config.write_text(
        '[general]\nmaster_key = "sk-12345678"\n[[models]]\nname = "m"\n'
        'provider_model = "mock/x"\n[cache]\nbackend = "s3"\n[cache.backend_config]\n'
        'bogus = "1"\n'
    )
    for command in (["check-config"], ["api", "--port", "1"]):
        result = run_cli(*command, "--config", str(config))
        assert result.returncode == 1
        assert "Traceback" not in result.stderr
    # check-config knows the options of each OpenDAL service and points at the line;
    # `api` refuses too, when OpenDAL itself rejects the option
    checked = run_cli("check-config", "--config", str(config))
    assert checked.stderr.startswith(f'error: {config}:9:1: unknown option "bogus"')
    served = run_cli("api", "--port", "1", "--config", str(config))
    assert served.stderr.startswith(f"error: {config}: [cache] backend = 's3'")


MISTAKES = """\
[general]
master_key = "sk-12345678"

[[models]]
name = "a"
provider_model = "opneai/gpt-4o"
api_key = "k"

[[models]]
name = "b"
provider_model = "groq/llama-3.3-70b"
api_key = "${GROQ_KEY_UNSET}"

[budget.model_limits]
"together/llama" = 1.0
"""


def test_check_config_refuses_every_mistake_in_one_run_naming_the_file_in_use(
    tmp_path: Path,
) -> None:
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "gateway.toml").write_text(MISTAKES)
    (tmp_path / "liter-llm-proxy.toml").write_text(DISCOVERED)  # never named instead
    done = run_cli("check-config", "--config", "conf/gateway.toml", cwd=tmp_path)
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert [line.split(": ", 2)[1] for line in errors] == [
        "conf/gateway.toml:6:1",
        "conf/gateway.toml:11:1",
        "conf/gateway.toml:15:1",
    ]
    assert 'did you mean "openai"?' in errors[0]
    assert "GROQ_API_KEY" in errors[1] and "gateway.toml" in errors[1]
    assert "matches no model the gateway serves" in errors[2]
    assert "liter-llm-proxy.toml" not in done.stderr
    warning = [line for line in done.stderr.splitlines() if line.startswith("warning: ")]
    assert warning and "${GROQ_KEY_UNSET}" in warning[0] and "conf/gateway.toml:12:12" in warning[0]


def test_check_config_prints_unset_variables_as_warnings_and_passes(tmp_path: Path) -> None:
    config = tmp_path / "gw.toml"
    config.write_text(
        '[general]\nmaster_key = "sk-12345678"\n[[models]]\nname = "m"\n'
        'provider_model = "mock/echo"\nbase_url = "${MOCK_BASE}"\n'
    )
    done = run_cli("check-config", "--config", str(config))
    assert done.returncode == 0, done.stderr
    assert f"warning: {config}:6:13: unset variable ${{MOCK_BASE}}" in done.stdout


def test_an_error_in_a_discovered_file_names_it_relative_to_the_working_directory(
    tmp_path: Path,
) -> None:
    (tmp_path / "liter-llm-proxy.toml").write_text("[server]\nport = -1\n")
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    for command in (["check-config"], ["api"]):
        done = run_cli(*command, cwd=nested)
        assert done.returncode == 1
        assert done.stderr.startswith("error: ../../liter-llm-proxy.toml:2:1: negative value"), (
            done.stderr
        )


@pytest.mark.parametrize(
    "argv",
    [
        ["keys", "list", "--url", "http://gw.test:9", "--json"],
        ["keys", "--url", "http://gw.test:9", "--json", "list"],
        ["keys", "--json", "list", "--url", "http://gw.test:9"],
    ],
)
def test_keys_options_may_follow_the_action(argv: list[str]) -> None:
    from literllm_server.cli import _parser

    args = _parser().parse_args(argv)
    assert (args.action, args.url, args.json) == ("list", "http://gw.test:9", True)
