"""Run the ASGI app under uvicorn (default) or hypercorn."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys

from literllm import Proxy, Redactor, configure_tracing_from_env
from literllm.config import CONFIG_FILENAME, Config, apply_overrides, find_config, load_config

from .accesslog import AccessLog
from .app import App, create_app

__all__ = ["app_factory", "build_app", "run"]

_WORKER_ENV = "LITER_LLM_WORKER_ARGS"
GRACE_SECS = 30


def build_app(config: Config, log_format: str, config_name: str = CONFIG_FILENAME) -> App:
    """The app for `config`, with tracing from `OTEL_*`, a scrubbed access log, and the
    objects built at start-up frozen out of the garbage collector's passes."""
    configure_tracing_from_env()
    proxy = Proxy.from_config(config, config_name=config_name)
    access_log = AccessLog(
        "json" if log_format == "json" else "plain", redactor=Redactor(proxy.secrets())
    )
    return create_app(proxy, access_log, freeze_gc=True)


def app_factory() -> App:
    """Build the app in a worker process from the arguments the parent left in the env."""
    args = json.loads(os.environ[_WORKER_ENV])
    config = apply_overrides(
        load_config(args["config"]),
        host=args["host"],
        port=args["port"],
        master_key=args["master_key"],
    )
    return build_app(config, args["log_format"], _name(args["config"]))


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
        return _hypercorn(build_app(config, log_format, name), host, port, log_level)
    import uvicorn

    options = {
        "host": host,
        "port": port,
        "loop": "uvloop",
        "http": "httptools",
        "lifespan": "on",
        "access_log": False,
        "log_level": log_level,
        "timeout_graceful_shutdown": GRACE_SECS,
        "server_header": False,
        # Nothing reads the client address, so X-Forwarded-* rewriting is skipped.
        "proxy_headers": False,
        "date_header": True,
        "timeout_keep_alive": 75,
    }
    # uvicorn re-raises SIGTERM once it has drained; make that a clean exit (status 0).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if workers > 1:
        os.environ[_WORKER_ENV] = json.dumps(
            {
                "config": config_path,
                "host": host,
                "port": port,
                "master_key": config.general.master_key,
                "log_format": log_format,
            }
        )
        uvicorn.run(
            "literllm_server.serve:app_factory",
            factory=True,
            workers=workers,
            **options,  # type: ignore[arg-type]
        )
        return 0
    uvicorn.run(build_app(config, log_format, name), **options)  # type: ignore[arg-type]
    return 0


def _name(config_path: str | None) -> str:
    """The base name of the config file in use, as messages to clients name it."""
    found = find_config(config_path)
    return found.name if found is not None else CONFIG_FILENAME


def _hypercorn(app: App, host: str, port: int, log_level: str) -> int:
    from hypercorn.asyncio import serve
    from hypercorn.config import Config as HypercornConfig

    settings = HypercornConfig()
    settings.bind = [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
    settings.loglevel = log_level.upper()
    settings.graceful_timeout = GRACE_SECS
    settings.accesslog = None

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve(app, settings, shutdown_trigger=stop.wait)  # type: ignore[arg-type]

    asyncio.run(main())
    return 0
