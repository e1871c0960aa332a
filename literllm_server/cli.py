"""The `liter-llm` command: `api` serves the gateway, `check-config` validates offline,
`keys` manages a running gateway's runtime keys."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import literllm
from literllm import ConfigError, Pricing
from literllm.config import (
    CONFIG_FILENAME,
    Config,
    apply_overrides,
    config_warnings,
    find_config,
    inspect_config,
    load_config,
    summary,
)

from .keys_cli import add_keys_parser, run_keys

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="liter-llm",
        description="An OpenAI-compatible LLM gateway configured by liter-llm-proxy.toml.",
        epilog="Without --config, liter-llm-proxy.toml is looked for in the working "
        "directory and each parent. Docs: docs/configuration.md.",
    )
    parser.add_argument("--version", action="version", version=f"liter-llm {literllm.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    api = commands.add_parser(
        "api", help="serve the gateway over HTTP", description="Serve the OpenAI-compatible API."
    )
    api.add_argument("--config", metavar="PATH", help="config file (disables discovery)")
    api.add_argument("--host", help="bind address (overrides [server] host)")
    api.add_argument("--port", type=int, help="bind port (overrides [server] port)")
    api.add_argument(
        "--master-key", metavar="KEY", help="master key (overrides [general] master_key)"
    )
    api.add_argument(
        "--server",
        choices=("uvicorn", "hypercorn"),
        default="uvicorn",
        help="ASGI server (default: uvicorn with uvloop and httptools)",
    )
    api.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="worker processes (needs [state] backend sqlite or redis)",
    )
    api.add_argument(
        "--log-format",
        choices=("plain", "json"),
        default="plain",
        help="request log lines as key=value text or JSON lines",
    )
    api.add_argument(
        "--log-level",
        default="info",
        choices=("debug", "info", "warning", "error"),
        help="log level",
    )

    check = commands.add_parser(
        "check-config",
        help="validate the config and print a summary",
        description="Validate offline; exit 1 with the error if the config is invalid.",
    )
    check.add_argument("--config", metavar="PATH", help="config file (disables discovery)")
    add_keys_parser(commands)
    return parser


_NO_FILE = "(built-in defaults: no config file found)"


def _load(path: str | None) -> tuple[Config, str]:
    """The config (discovered once when `path` is None) and where it came from."""
    found = find_config(path)
    if found is None:
        return apply_overrides(Config()), _NO_FILE
    return load_config(found), str(found)


def _build_check(config: Config, source: str) -> str | None:
    """Build every part the config names (no I/O) and return the first problem."""
    from literllm import Proxy

    try:
        name = CONFIG_FILENAME if source == _NO_FILE else Path(source).name
        Proxy.from_config(config, config_name=name)
    except ConfigError as error:
        return str(error) if error.path else f"{source}: {error}"
    return None


def _print_errors(error: ConfigError) -> None:
    for each in getattr(error, "errors", [error]):
        print(f"error: {each}", file=sys.stderr)
    for warning in error.warnings:
        print(f"warning: {warning}", file=sys.stderr)


def check_config(args: argparse.Namespace) -> int:
    """Everything the loader sees, plus what the registry and the environment say (unknown
    providers, missing credentials, budget keys that match nothing, backend options):
    every problem is printed, and any error exits 1."""
    from literllm import Preflight

    try:
        found = find_config(args.config)
        name = found.name if found is not None else CONFIG_FILENAME
        report = inspect_config(found, checks=[Preflight(os.environ, config_name=name)])
    except ConfigError as error:
        _print_errors(error)
        return 1
    source = report.filename or _NO_FILE
    config = apply_overrides(report.config)
    problem = _build_check(config, source)
    if problem is not None:
        print(f"error: {problem}", file=sys.stderr)
        return 1
    unpriced = Pricing.load().unpriced(config)
    extra = [f"unpriced models (cost counted as 0): {', '.join(unpriced)}"] if unpriced else []
    print(f"config: {source}")
    print(summary(config, extra_lines=extra))
    for located in report.warnings:
        print(f"warning: {located}")
    for warning in config_warnings(config):
        print(f"warning: {warning}")
    print("ok")
    return 0


def serve(args: argparse.Namespace) -> int:
    from .serve import run

    logging.basicConfig(
        level=args.log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        config, source = _load(args.config)
        config = apply_overrides(config, host=args.host, port=args.port, master_key=args.master_key)
    except ConfigError as error:
        _print_errors(error)
        return 1
    problem = _build_check(config, source)
    if problem is not None:
        print(f"error: {problem}", file=sys.stderr)
        return 1
    if args.workers > 1 and config.state.backend == "memory":
        print(
            'error: --workers needs shared state: with [state] backend = "memory" each '
            "worker would keep its own rate limits and spend, allowing N times every "
            'limit. Set [state] backend = "sqlite" (one machine) or "redis".',
            file=sys.stderr,
        )
        return 1
    logger = logging.getLogger("literllm")
    logger.info("config: %s\n%s", source, summary(config))
    for warning in config_warnings(config):
        logger.warning("%s", warning)
    return run(
        config,
        config_path=args.config,
        server=args.server,
        workers=args.workers,
        log_format=args.log_format,
        log_level=args.log_level,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "api":
        return serve(args)
    if args.command == "check-config":
        try:
            return check_config(args)
        except BrokenPipeError:  # `liter-llm check-config | head`
            sys.stderr.close()
            return 0
    if args.command == "keys":
        return run_keys(args)
    parser.print_help()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
