"""Cross-field checks: the things a schema cannot see, run on a typed `Config`.

Each problem carries the path of the offending field, so the loader can point at it.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from fnmatch import fnmatchcase

import msgspec

from .backends import OPENDAL_SCHEMES, UNAVAILABLE_OPENDAL_SCHEMES, canonical_scheme
from .guardrails import ModerationSettings, guardrail_settings
from .hookpath import check_factory, resolve_factory
from .locate import Path, table_name
from .problem import ConfigProblem
from .schema import Config
from .state_options import state_options_type

__all__ = ["find_problems", "is_provider_model"]


def is_provider_model(name: str) -> bool:
    """`provider/model` with a non-empty provider and model and no spaces in the provider."""
    provider, slash, model = name.partition("/")
    return bool(slash and provider and model) and not any(c.isspace() for c in provider)


def find_problems(config: Config) -> list[ConfigProblem]:
    """Every cross-field problem, in a stable order (the loader reports the first)."""
    checks: tuple[Callable[[Config], Iterator[ConfigProblem]], ...] = (
        _server,
        _provider_models,
        _fallbacks,
        _fallback_cycles,
        _duplicate_keys,
        _key_models,
        _teams,
        _alerts,
        _cache,
        _files,
        _health,
        _routing,
        _state,
        _hooks,
        _guardrails,
    )
    return [problem for check in checks for problem in check(config)]


def _server(config: Config) -> Iterator[ConfigProblem]:
    if not config.server.host.strip():
        yield ConfigProblem(
            ("server", "host"),
            'empty value for "host" in [server]; expected a bind address such as '
            '"0.0.0.0" or "127.0.0.1"',
        )


def _provider_models(config: Config) -> Iterator[ConfigProblem]:
    for index, model in enumerate(config.models):
        if not is_provider_model(model.provider_model):
            yield ConfigProblem(
                ("models", index, "provider_model"),
                f'invalid provider_model "{model.provider_model}" in [[models]] #{index + 1}; '
                'expected the form "provider/model", e.g. "openai/gpt-4o"',
            )


def _model_names(config: Config) -> list[str]:
    return list(dict.fromkeys(model.name for model in config.models))


def _fallbacks(config: Config) -> Iterator[ConfigProblem]:
    names = _model_names(config)
    for index, model in enumerate(config.models):
        for fallback in model.fallbacks:
            if fallback not in names:
                yield ConfigProblem(
                    ("models", index, "fallbacks"),
                    f'fallback "{fallback}" is not a defined model in [[models]] #{index + 1}; '
                    f"expected one of the [[models]] names: {', '.join(names)}"
                    + _did_you_mean(fallback, names),
                )


def _fallback_cycles(config: Config) -> Iterator[ConfigProblem]:
    graph: dict[str, list[str]] = {}
    for model in config.models:
        edges = graph.setdefault(model.name, [])
        edges.extend(f for f in model.fallbacks if f not in edges)
    cycle = _first_cycle(graph)
    if cycle is None:
        return
    index = next(
        i for i, m in enumerate(config.models) if m.name == cycle[0] and cycle[1] in m.fallbacks
    )
    yield ConfigProblem(
        ("models", index, "fallbacks"),
        f"fallback cycle {' -> '.join(cycle)} in [[models]] #{index + 1}; "
        "expected fallbacks that never lead back to a model already tried",
    )


def _first_cycle(graph: dict[str, list[str]]) -> list[str] | None:
    done: set[str] = set()

    def visit(node: str, trail: list[str]) -> list[str] | None:
        if node in trail:
            return [*trail[trail.index(node) :], node]
        if node in done or node not in graph:
            return None
        for target in graph[node]:
            found = visit(target, [*trail, node])
            if found is not None:
                return found
        done.add(node)
        return None

    for start in graph:
        cycle = visit(start, [])
        if cycle is not None:
            return cycle
    return None


def _duplicate_keys(config: Config) -> Iterator[ConfigProblem]:
    first_seen: dict[str, int] = {}
    for index, key in enumerate(config.keys):
        earlier = first_seen.setdefault(key.key, index)
        if earlier != index:
            yield ConfigProblem(
                ("keys", index, "key"),
                f"duplicate virtual key token in [[keys]] #{index + 1} (the same token as "
                f"[[keys]] #{earlier + 1}); expected every key to be unique",
            )


def _teams(config: Config) -> Iterator[ConfigProblem]:
    """Extension `[[teams]]`: names unique and not empty; every key's `team` defined."""
    first_seen: dict[str, int] = {}
    for index, team in enumerate(config.teams):
        if not team.name.strip():
            yield ConfigProblem(
                ("teams", index, "name"),
                f'empty value for "name" in [[teams]] #{index + 1}; expected the team\'s name',
            )
        earlier = first_seen.setdefault(team.name, index)
        if earlier != index:
            yield ConfigProblem(
                ("teams", index, "name"),
                f'duplicate team "{team.name}" in [[teams]] #{index + 1} (also [[teams]] '
                f"#{earlier + 1}); expected every team name to be unique",
            )
    for index, key in enumerate(config.keys):
        if key.team is not None and key.team not in first_seen:
            defined = ", ".join(f'"{name}"' for name in first_seen) or "none"
            yield ConfigProblem(
                ("keys", index, "team"),
                f'unknown team "{key.team}" in [[keys]] #{index + 1}; expected the name of a '
                f"[[teams]] entry (defined: {defined})",
            )


def _alerts(config: Config) -> Iterator[ConfigProblem]:
    """Extension `[alerts]`: http(s) webhook URLs, and a secret to sign with."""
    alerts = config.alerts
    if alerts is None:
        return
    for index, url in enumerate(alerts.webhook_urls):
        if not url.startswith(("http://", "https://")):
            yield ConfigProblem(
                ("alerts", "webhook_urls", index),
                f"invalid webhook URL in [alerts] webhook_urls item {index + 1}; expected an "
                "http:// or https:// URL",
            )
    if alerts.webhook_urls and not alerts.secret:
        yield ConfigProblem(
            ("alerts",),
            '[alerts] has webhook_urls but no secret; expected secret = "${ALERTS_SECRET}" '
            "(every delivery is signed with it, so receivers can check it came from here)",
        )


def _key_models(config: Config) -> Iterator[ConfigProblem]:
    # Without any [[models]] the file is a fragment (the reference's own [[keys]]
    # example is one); advice.py warns about those names instead.
    names = _model_names(config)
    if not names:
        return
    for index, key in enumerate(config.keys):
        for model in key.models:
            if any(c in model for c in "*?["):
                if not is_provider_model(model) and not any(
                    fnmatchcase(name, model) for name in names
                ):
                    yield ConfigProblem(
                        ("keys", index, "models"),
                        f'pattern "{model}" in [[keys]] #{index + 1} matches none of the '
                        f"[[models]] names ({', '.join(names)}); expected a pattern that "
                        'matches one, or a provider pattern such as "anthropic/*"',
                    )
                continue
            if model not in names and not is_provider_model(model):
                yield ConfigProblem(
                    ("keys", index, "models"),
                    f'unknown model "{model}" in [[keys]] #{index + 1}; expected one of the '
                    f"[[models]] names ({', '.join(names)}) or a provider/model name"
                    + _did_you_mean(model, names),
                )


def _backend(table: str, backend: str) -> Iterator[ConfigProblem]:
    scheme = canonical_scheme(backend)
    if scheme in OPENDAL_SCHEMES:
        return
    accepted = ", ".join(sorted(OPENDAL_SCHEMES))
    if scheme in UNAVAILABLE_OPENDAL_SCHEMES:
        what = f'backend "{backend}" (an OpenDAL service the installed opendal lacks)'
    else:
        what = f'unknown backend "{backend}"'
    yield ConfigProblem(
        (table, "backend"),
        f"{what} in [{table}]; expected one of: {accepted}"
        + _did_you_mean(scheme, sorted(OPENDAL_SCHEMES)),
    )


def _cache(config: Config) -> Iterator[ConfigProblem]:
    if config.cache is None:
        return
    yield from _backend("cache", config.cache.backend)
    if canonical_scheme(config.cache.backend) == "memory" and config.cache.max_entries is None:
        yield ConfigProblem(
            ("cache", "max_entries"),
            'missing field "max_entries" in [cache]; expected max_entries = <entries> '
            'when backend = "memory" (the in-memory LRU needs a capacity)',
        )


def _files(config: Config) -> Iterator[ConfigProblem]:
    if config.files is not None:
        yield from _backend("files", config.files.backend)


def _health(config: Config) -> Iterator[ConfigProblem]:
    health = config.health
    if health is None:
        return
    if health.interval_secs is not None and health.probe_model is None:
        yield ConfigProblem(
            ("health", "interval_secs"),
            'missing field "probe_model" in [health]; expected probe_model = "<model>" '
            "when interval_secs is set",
        )
    probe = health.probe_model
    names = _model_names(config)
    if probe is not None and probe not in names and not is_provider_model(probe):
        yield ConfigProblem(
            ("health", "probe_model"),
            f'unknown probe_model "{probe}" in [health]; expected a [[models]] name or a '
            'provider/model name such as "openai/gpt-4o-mini"' + _did_you_mean(probe, names),
        )


def _routing(config: Config) -> Iterator[ConfigProblem]:
    routing = config.routing
    if routing.backoff_base_secs > routing.backoff_max_secs:
        yield ConfigProblem(
            ("routing", "backoff_base_secs"),
            f"backoff_base_secs {routing.backoff_base_secs} is above backoff_max_secs "
            f"{routing.backoff_max_secs} in [routing]; expected base <= max",
        )


_STATE_CHOICES = {"synchronous": '"off", "normal", "full", "extra"'}


def _state(config: Config) -> Iterator[ConfigProblem]:
    state = config.state
    if state.backend == "redis":
        url = state.backend_config.get("url")
        if not isinstance(url, str):
            where: Path = ("state", "backend_config", "url")
            got = "missing option" if url is None else "wrong type for option"
            yield ConfigProblem(
                where,
                f'{got} "url" in {table_name(where[:2])}; expected url = '
                '"redis://host:6379/0" when backend = "redis"',
            )
    options = state_options_type(state.backend)
    allowed = set(options.__struct_fields__)
    unknown = sorted(set(state.backend_config) - allowed)
    for option in unknown:
        expected = ", ".join(sorted(allowed)) or "no options"
        yield ConfigProblem(
            ("state", "backend_config", option),
            f'unknown option "{option}" in [state.backend_config] for backend = '
            f'"{state.backend}"; expected {expected}' + _did_you_mean(option, sorted(allowed)),
        )
    if unknown:
        return
    try:
        msgspec.convert(state.backend_config, options)
    except msgspec.ValidationError as error:
        detail, _, at = str(error).partition(" - at `$.")
        option = at.split("`", 1)[0].split(".", 1)[0].split("[", 1)[0] or "url"
        choices = _STATE_CHOICES.get(option)
        yield ConfigProblem(
            ("state", "backend_config", option),
            f'{detail[:1].lower()}{detail[1:]} for option "{option}" in '
            f'[state.backend_config] (backend = "{state.backend}")'
            + (f"; expected one of {choices}" if choices else ""),
        )


def _did_you_mean(name: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""


def _hooks(config: Config) -> Iterator[ConfigProblem]:
    for index, hook in enumerate(config.hooks):
        where = f"[[hooks]] #{index + 1}"
        try:
            factory = resolve_factory(hook.path)
        except ValueError as error:
            yield ConfigProblem(
                ("hooks", index, "path"),
                f'invalid path in {where}: {error}; expected "package.module:factory" '
                "naming an importable class or function",
            )
            continue
        try:
            check_factory(factory, hook.settings)
        except ValueError as error:
            yield ConfigProblem(
                ("hooks", index, "settings" if hook.settings else "path"),
                f"bad settings for {hook.path} in {where}: {error}; expected the keyword "
                "arguments its factory accepts",
            )
        yield from _scope(config, "hooks", index, hook.models, where)


def _guardrails(config: Config) -> Iterator[ConfigProblem]:
    for index, guardrail in enumerate(config.guardrails):
        where = f"[[guardrails]] #{index + 1}"
        try:
            settings = guardrail_settings(guardrail.type, guardrail.settings)
        except ValueError as error:
            yield ConfigProblem(
                ("guardrails", index, "settings"),
                f'bad settings for type "{guardrail.type}" in {where}: {error}; '
                "expected the settings docs/hooks.md lists for this type",
            )
            continue
        names = _model_names(config)
        if isinstance(settings, ModerationSettings) and settings.model not in names:
            yield ConfigProblem(
                ("guardrails", index, "settings", "model"),
                f'moderation model "{settings.model}" is not a [[models]] name in {where}; '
                "expected a model that serves /v1/moderations, e.g. "
                'name = "omni-moderation-latest", provider_model = "openai/omni-moderation-latest"',
            )
        yield from _scope(config, "guardrails", index, guardrail.models, where)


def _scope(
    config: Config, table: str, index: int, models: list[str], where: str
) -> Iterator[ConfigProblem]:
    names = _model_names(config)
    for model in models:
        if names and model not in names and "/" not in model:
            yield ConfigProblem(
                (table, index, "models"),
                f'unknown model "{model}" in {where}; expected one of the [[models]] names: '
                + ", ".join(names)
                + _did_you_mean(model, names),
            )
