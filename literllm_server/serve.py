"""Run the ASGI app under uvicorn (default) or hypercorn."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import signal
import sys
from typing import TextIO

from literllm import Proxy, Redactor, configure_tracing_from_env
from literllm.config import Config, apply_overrides, load_config

from .accesslog import AccessLog
from .app import App, create_app
from .guard import ConnectionGuard

__all__ = ["app_factory", "build_app", "run"]

_WORKER_ENV = "LITER_LLM_WORKER_ARGS"
GRACE_SECS = 30


def build_app(
    config: Config,
    log_format: str,
    *,
    proxy: Proxy | None = None,
    log_stream: TextIO | None = None,
    freeze_gc: bool = True,
) -> App:
    """The app for `config`, with tracing from `OTEL_*`, a scrubbed access log, and the
    objects built at start-up frozen out of the garbage collector's passes. `proxy`,
    `log_stream` (default stderr) and `freeze_gc` are for tests."""
    configure_tracing_from_env()
    if proxy is None:
        proxy = Proxy.from_config(config)
    access_log = AccessLog(
        "json" if log_format == "json" else "plain",
        log_stream,
        redactor=Redactor(proxy.secrets()),
    )
    return create_app(proxy, access_log, freeze_gc=freeze_gc)


def app_factory() -> App:
    """Build the app in a worker process from the arguments the parent left in the env."""
    args = json.loads(os.environ[_WORKER_ENV])
    config = apply_overrides(
        load_config(args["config"]),
        host=args["host"],
        port=args["port"],
        master_key=args["master_key"],
    )
    return build_app(config, args["log_format"])


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
    if server == "hypercorn":
        return _hypercorn(build_app(config, log_format), config, log_level)
    import uvicorn

    guard = ConnectionGuard(
        header_timeout=config.server.header_timeout_secs,
        max_connections=connection_cap(config.server.max_connections),
    )
    options = {
        "host": host,
        "port": port,
        "loop": "uvloop",
        "http": guard.protocol(),
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
    uvicorn.run(build_app(config, log_format), **options)  # type: ignore[arg-type]
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


def _hypercorn(app: App, config: Config, log_level: str) -> int:
    from hypercorn.asyncio import serve
    from hypercorn.config import Config as HypercornConfig

    host, port = config.server.host, config.server.port
    settings = HypercornConfig()
    # hypercorn has no connection cap; its read timeout bounds a silent client.
    settings.read_timeout = int(max(1.0, config.server.read_timeout_secs))
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
