"""Run the ASGI app under uvicorn (default) or hypercorn."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import resource
import signal
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import uvicorn

from literllm import Proxy, Redactor, configure_tracing_from_env
from literllm.config import CONFIG_FILENAME, Config, find_config

from .accesslog import AccessLog
from .app import App, create_app
from .guard import ConnectionGuard

__all__ = ["WorkerApp", "build_app", "run", "scrub_environment"]

_SECRET_NAME = re.compile(r"key|token|secret|passw|credential", re.IGNORECASE)


def build_app(
    config: Config,
    log_format: str,
    *,
    proxy: Proxy | None = None,
    log_stream: TextIO | None = None,
    freeze_gc: bool = True,
    config_name: str = CONFIG_FILENAME,
) -> App:
    """The app for `config`, with tracing from `OTEL_*`, a scrubbed access log, and the
    objects built at start-up frozen out of the garbage collector's passes. `proxy`,
    `log_stream` (default stderr) and `freeze_gc` are for tests."""
    configure_tracing_from_env()
    if proxy is None:
        proxy = Proxy.from_config(config, config_name=config_name)
    access_log = AccessLog(
        "json" if log_format == "json" else "plain",
        log_stream,
        redactor=Redactor(proxy.secrets()),
    )
    return create_app(proxy, access_log, freeze_gc=freeze_gc)


class WorkerApp:
    """What each `--workers` process builds its app from. It reaches the worker pickled
    over the pipe multiprocessing starts it with, never through the environment: the
    resolved config (master key, provider keys) and the environment the parent read
    (the provider credentials it names) are data here, and the workers' environment is
    the parent's without its secrets (`scrub_environment`)."""

    def __init__(
        self, config: Config, environ: dict[str, str], log_format: str, config_name: str
    ) -> None:
        self.config = config
        self.config_name = config_name
        self.environ = environ
        self.log_format = log_format

    def __call__(self) -> App:
        proxy = Proxy.from_config(self.config, environ=self.environ, config_name=self.config_name)
        return build_app(self.config, self.log_format, proxy=proxy)


def scrub_environment(environ: MutableMapping[str, str], config: Config) -> list[str]:
    """Remove every secret from `environ`: variables named like one (`*KEY*`, `*TOKEN*`,
    `*SECRET*`, `*PASSWORD*`, `*CREDENTIAL*`) and any whose value is a secret of the
    config. Returns the names removed."""
    secrets = set(Proxy.from_config(config, environ=dict(environ)).secrets())
    removed = [
        name
        for name, value in environ.items()
        if _SECRET_NAME.search(name) or (value and value in secrets)
    ]
    for name in removed:
        del environ[name]
    return removed


def run(
    config: Config,
    *,
    config_path: str | None,
    server: str,
    workers: int,
    log_format: str,
    log_level: str,
) -> int:
    host, port = config.server.host, config.server.port
    name = _name(config_path)
    if server == "hypercorn":
        return _hypercorn(build_app(config, log_format, config_name=name), config, log_level)
    guard = ConnectionGuard(
        header_timeout=config.server.header_timeout_secs,
        max_connections=connection_cap(config.server.max_connections),
    )
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "loop": "uvloop",
        "http": guard.protocol(),
        "lifespan": "on",
        "access_log": False,
        "log_level": log_level,
        "timeout_graceful_shutdown": config.server.shutdown_grace_secs,
        "server_header": False,
        # Nothing reads the client address, so X-Forwarded-* rewriting is skipped.
        "proxy_headers": False,
        "date_header": True,
        "timeout_keep_alive": 75,
    }
    # uvicorn re-raises SIGTERM once it has drained; make that a clean exit (status 0).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if workers > 1:
        return _workers(config, workers, log_format, options, name)
    uvicorn.run(build_app(config, log_format, config_name=name), **options)
    return 0


def _workers(
    config: Config, workers: int, log_format: str, options: dict[str, Any], name: str
) -> int:
    """uvicorn's multi-process supervisor, given the app as a picklable factory (which
    `uvicorn.run` refuses: it wants an import string, whose arguments would have to
    travel in the environment)."""
    from uvicorn.supervisors import Multiprocess

    factory = WorkerApp(config, dict(os.environ), log_format, name)
    scrub_environment(os.environ, config)
    settings = uvicorn.Config(factory, factory=True, workers=workers, **options)
    with contextlib.suppress(KeyboardInterrupt):
        Multiprocess(settings, sockets=[settings.bind_socket()]).run()
    return 0


def connection_cap(configured: int) -> int:
    """`configured`, lowered to half the open-file limit (raised to its hard maximum
    first): the other half stays free for upstream connections and files."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = min(hard, 1 << 20) if hard != resource.RLIM_INFINITY else 1 << 20
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
    return max(1, min(configured, soft // 2))


def _name(config_path: str | None) -> str:
    """The base name of the config file in use, as messages to clients name it."""
    found = find_config(config_path)
    return found.name if found is not None else CONFIG_FILENAME


def _hypercorn(app: App, config: Config, log_level: str) -> int:
    from hypercorn.asyncio import serve
    from hypercorn.config import Config as HypercornConfig

    host, port = config.server.host, config.server.port
    settings = HypercornConfig()
    # hypercorn has no connection cap; its read timeout bounds a silent client.
    settings.read_timeout = int(max(1.0, config.server.read_timeout_secs))
    settings.bind = [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
    settings.loglevel = log_level.upper()
    settings.graceful_timeout = config.server.shutdown_grace_secs
    settings.accesslog = None

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve(app, settings, shutdown_trigger=stop.wait)  # type: ignore[arg-type]

    asyncio.run(main())
    return 0
