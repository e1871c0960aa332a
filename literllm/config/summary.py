"""The human-readable summary `liter-llm check-config` prints.

Never prints a secret: the master key and virtual keys are redacted, provider
`api_key`s are reported as set or not, `backend_config` values whose option name
looks secret are masked, and credentials embedded in URLs are removed.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

from .schema import Config, KeyConfig, ModelConfig, OptionValue

__all__ = ["redact_options", "redact_token", "redact_url", "summary"]

_SECRET_WORDS = ("secret", "password", "key", "token", "credential")


def redact_token(token: str) -> str:
    """`vk-…nd`: the first 3 and last 2 characters; `***` for tokens under 8 characters."""
    if len(token) < 8:
        return "***"
    return f"{token[:3]}…{token[-2:]}"


def redact_url(url: str) -> str:
    """The URL without user, password, query or fragment (they may hold credentials)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "***"
    if not parts.scheme or not parts.netloc:
        return url if "@" not in url else "***"
    if ":" in host:
        host = f"[{host}]"
    return urlunsplit((parts.scheme, host + port, parts.path, "", ""))


def redact_options(options: dict[str, OptionValue]) -> str:
    shown = []
    for name, value in options.items():
        if any(word in name.lower() for word in _SECRET_WORDS):
            text = "***"
        elif isinstance(value, str):
            text = redact_url(value) if "://" in value or "@" in value else value
        else:
            text = str(value).lower() if isinstance(value, bool) else str(value)
        shown.append(f"{name}={text}")
    return ", ".join(shown)


def summary(config: Config, extra_lines: Iterable[str] = ()) -> str:
    """One section per table; `extra_lines` are appended as-is (e.g. unpriced models)."""
    lines = [
        *_server(config),
        *_models(config),
        *_aliases(config),
        *_keys(config),
        *_limits(config),
        *_storage(config),
        *_resilience(config),
        *extra_lines,
    ]
    return "\n".join(lines) + "\n"


def _server(config: Config) -> list[str]:
    server, general = config.server, config.general
    port = "a free port" if server.port == 0 else str(server.port)
    master = redact_token(general.master_key) if general.master_key else "none"
    return [
        f"server: {server.host}:{port} (request timeout {server.request_timeout_secs}s, "
        f"body limit {server.body_limit_bytes} bytes, CORS origins: "
        f"{', '.join(server.cors_origins) or 'none'})",
        f"general: master key {master}, default timeout {general.default_timeout_secs}s, "
        f"max retries {general.max_retries}, cost tracking {_on(general.enable_cost_tracking)}, "
        f"tracing {_on(general.enable_tracing)}",
    ]


def _models(config: Config) -> list[str]:
    pools: dict[str, list[ModelConfig]] = {}
    for model in config.models:
        pools.setdefault(model.name, []).append(model)
    lines = [f"model pools: {len(pools)}" if pools else "model pools: none"]
    weighted = config.routing.strategy == "weighted"
    for name, deployments in pools.items():
        shown = ", ".join(_deployment(d, weighted) for d in deployments)
        fallbacks = list(dict.fromkeys(f for d in deployments for f in d.fallbacks))
        timeouts = sorted({d.timeout_secs for d in deployments if d.timeout_secs is not None})
        timeout = (
            "/".join(f"{t}s" for t in timeouts)
            if timeouts
            else f"{config.general.default_timeout_secs}s (default)"
        )
        lines.append(
            f"  {name} -> {shown}; timeout {timeout}; fallbacks: {', '.join(fallbacks) or 'none'}"
        )
    return lines


def _deployment(model: ModelConfig, weighted: bool) -> str:
    details = ["api_key set" if model.api_key else "api_key from provider env"]
    if model.base_url:
        details.append(f"base_url {redact_url(model.base_url)}")
    if weighted:
        details.append(f"weight {model.weight:g}")
    return f"{model.provider_model} ({', '.join(details)})"


def _aliases(config: Config) -> list[str]:
    if not config.aliases:
        return ["aliases: none"]
    lines = [f"aliases: {len(config.aliases)}"]
    for alias in config.aliases:
        base = f"base_url {redact_url(alias.base_url)}" if alias.base_url else "base_url not set"
        key = "api_key set" if alias.api_key else "api_key not set"
        lines.append(f"  {alias.pattern}: {key}, {base}")
    return lines


def _keys(config: Config) -> list[str]:
    if not config.keys:
        return ["keys: none"]
    return [f"keys: {len(config.keys)}", *(f"  {_key(key)}" for key in config.keys)]


def _key(key: KeyConfig) -> str:
    label = f' "{key.description}"' if key.description else ""
    models = ", ".join(key.models) if key.models else "all"
    limits = ", ".join(
        part
        for part in (
            f"rpm {key.rpm}" if key.rpm is not None else "",
            f"tpm {key.tpm}" if key.tpm is not None else "",
            f"budget {_usd(key.budget_limit)}" if key.budget_limit is not None else "",
        )
        if part
    )
    return f"{redact_token(key.key)}{label}: models {models}; limits: {limits or 'none'}"


def _limits(config: Config) -> list[str]:
    rate = config.rate_limit
    if rate is None or (rate.rpm is None and rate.tpm is None):
        rate_line = "global rate limit: none"
    else:
        parts = [
            f"rpm {rate.rpm}" if rate.rpm is not None else "",
            f"tpm {rate.tpm}" if rate.tpm is not None else "",
        ]
        rate_line = "global rate limit: " + ", ".join(p for p in parts if p)
    budget = config.budget
    if budget is None:
        return [rate_line, "budget: none"]
    caps = [f"global {_usd(budget.global_limit)}"] if budget.global_limit is not None else []
    caps += [f"{model} {_usd(limit)}" for model, limit in budget.model_limits.items()]
    return [
        rate_line,
        f"budget: {', '.join(caps) or 'no caps'}; enforcement {budget.enforcement}",
    ]


def _storage(config: Config) -> list[str]:
    cache = config.cache
    if cache is None:
        cache_line = "cache: disabled"
    else:
        size = (
            f"max {cache.max_entries} entries" if cache.max_entries is not None else "no size cap"
        )
        ttl = f"ttl {cache.ttl_seconds}s" if cache.ttl_seconds is not None else "no ttl"
        cache_line = f"cache: {cache.backend} ({size}, {ttl}){_options(cache.backend_config)}"
    files = config.files
    if files is None:
        files_line = 'files: memory (default; prefix "liter-llm-files/")'
    else:
        files_line = (
            f'files: {files.backend} (prefix "{files.prefix}"){_options(files.backend_config)}'
        )
    state = config.state
    mode = "fail open" if state.fail_open else "fail closed"
    state_line = f"state: {state.backend} ({mode}){_options(state.backend_config)}"
    return [cache_line, files_line, state_line]


def _resilience(config: Config) -> list[str]:
    health = config.health
    if health is None or health.interval_secs is None:
        health_line = "health probes: disabled"
    else:
        health_line = f"health probes: every {health.interval_secs}s using {health.probe_model}"
    cooldown = config.cooldown
    cooldown_line = f"cooldown: {cooldown.duration_secs}s" if cooldown else "cooldown: none"
    routing = config.routing
    routing_line = (
        f"routing: {routing.strategy} (backoff {routing.backoff_base_secs:g}s.."
        f"{routing.backoff_max_secs:g}s, retry-after cap {routing.retry_after_max_secs:g}s)"
    )
    return [health_line, cooldown_line, routing_line]


def _options(options: dict[str, OptionValue]) -> str:
    return f"; options: {redact_options(options)}" if options else ""


def _usd(amount: float | None) -> str:
    return f"${amount:,.2f}"


def _on(flag: bool) -> str:
    return "on" if flag else "off"
