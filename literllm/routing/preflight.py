"""What `check-config` knows before the first request: problems that the loader cannot
see because they depend on the provider registry and the environment.

- a provider prefix the registry does not know (`opneai/gpt-4o`), with a did-you-mean;
- a [[models]] entry (or an [[aliases]] pattern naming one provider) whose credential
  cannot be found: no `api_key` and the provider's variable unset; the message names the
  variable. `mock` and providers without auth need none; Bedrock falls back to the AWS
  credential chain and Vertex AI to application default credentials (both may come from
  the machine's metadata service, so only a named key file that does not exist is an
  error there);
- `[budget.model_limits]` keys that can never match: spend is recorded under the
  registry's spelling of the provider (`together_ai/...` for `together/...`), so keys
  are compared in that spelling, and a key no served model can reach is refused;
- a `[health] probe_model` that the passthrough policy would refuse;
- `backend_config` options that the chosen OpenDAL service does not take, or of the
  wrong type.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from fnmatch import fnmatchcase
from pathlib import Path

from ..config import CONFIG_FILENAME, Config, ConfigProblem, is_provider_model
from ..providers import ProviderRegistry
from ..storage.options import backend_option_problems
from .resolve import Resolver

__all__ = ["Preflight", "canonical_provider_model"]


def canonical_provider_model(registry: ProviderRegistry, name: str) -> str:
    """`together/x` -> `together_ai/x`: the spelling spend is recorded under."""
    provider, slash, model = name.partition("/")
    return f"{registry.canonical(provider)}/{model}" if slash else name


class Preflight:
    """A loader `Check`: `inspect_config(path, checks=[Preflight(os.environ)])`."""

    def __init__(
        self,
        environ: Mapping[str, str],
        registry: ProviderRegistry | None = None,
        config_name: str = CONFIG_FILENAME,
    ) -> None:
        self._environ = environ
        self._registry = registry or ProviderRegistry()
        self._config_name = config_name

    def __call__(self, config: Config) -> Iterator[ConfigProblem]:
        yield from self._providers(config)
        yield from self._credentials(config)
        yield from self._alias_credentials(config)
        yield from self._model_limits(config)
        yield from self._probe_model(config)
        yield from backend_option_problems(config)

    def _unknown_provider(self, provider: str) -> str:
        close = difflib.get_close_matches(provider, self._registry.names(), n=1, cutoff=0.6)
        hint = f' (did you mean "{close[0]}"?)' if close else ""
        return f"expected a provider the gateway knows, listed in docs/providers.md{hint}"

    def _providers(self, config: Config) -> Iterator[ConfigProblem]:
        for index, model in enumerate(config.models):
            provider = model.provider
            if is_provider_model(model.provider_model) and not self._registry.known(provider):
                yield ConfigProblem(
                    ("models", index, "provider_model"),
                    f'unknown provider "{provider}" in provider_model "{model.provider_model}" '
                    f"in [[models]] #{index + 1}; " + self._unknown_provider(provider),
                )
        for index, alias in enumerate(config.aliases):
            named = _literal_provider(alias.pattern)
            if named is not None and not self._registry.known(named):
                yield ConfigProblem(
                    ("aliases", index, "pattern"),
                    f'unknown provider "{named}" in pattern "{alias.pattern}" in '
                    f"[[aliases]] #{index + 1}; " + self._unknown_provider(named),
                )

    def _credentials(self, config: Config) -> Iterator[ConfigProblem]:
        known = [
            m
            for m in config.models
            if is_provider_model(m.provider_model) and self._registry.known(m.provider)
        ]
        only_known = Config(
            general=config.general, models=known, routing=config.routing, state=config.state
        )
        resolver = Resolver(
            only_known, self._registry, self._environ, config_name=self._config_name
        )
        for deployments in resolver.pools.values():
            for deployment in deployments:
                index = next(i for i, m in enumerate(config.models) if m is deployment.config)
                model = config.models[index]
                if deployment.missing_credential:
                    yield ConfigProblem(
                        ("models", index, "provider_model"),
                        f"{deployment.missing_credential} (in [[models]] #{index + 1}: "
                        "every request to it would fail)",
                    )
                elif deployment.target.provider == "vertex_ai":
                    yield from self._vertex_file(model.api_key, ("models", index, "api_key"))

    def _vertex_file(
        self, api_key: str | None, path: tuple[str | int, ...]
    ) -> Iterator[ConfigProblem]:
        named = api_key or self._environ.get("GOOGLE_APPLICATION_CREDENTIALS")
        if named and not Path(named).is_file():
            source = "api_key" if api_key else "GOOGLE_APPLICATION_CREDENTIALS"
            yield ConfigProblem(
                path,
                f"the Vertex AI service-account key file named by {source} does not exist; "
                "expected the path of a readable service-account JSON key file",
            )

    def _alias_credentials(self, config: Config) -> Iterator[ConfigProblem]:
        for index, alias in enumerate(config.aliases):
            provider = _literal_provider(alias.pattern)
            if provider is None or not self._registry.known(provider) or alias.api_key:
                continue
            if not self._registry.adapter(provider).credential(None).required:
                continue  # mock, providers without auth, and the AWS / Google chains
            variable = self._registry.env_var(provider)
            if variable and self._environ.get(variable):
                continue
            where = f"{variable} in the environment" if variable else "no environment variable"
            yield ConfigProblem(
                ("aliases", index, "pattern"),
                f'no credential for [[aliases]] #{index + 1} ("{alias.pattern}"): it sets no '
                f"api_key and {where} is unset, so every request it allows would fail; "
                f"expected api_key in this entry or {variable or 'an api_key'} set",
            )

    def _model_limits(self, config: Config) -> Iterator[ConfigProblem]:
        if config.budget is None:
            return
        served = {
            canonical_provider_model(self._registry, m.provider_model): m.provider_model
            for m in config.models
        }
        first: dict[str, str] = {}
        for key in config.budget.model_limits:
            path = ("budget", "model_limits", key)
            provider = key.partition("/")[0]
            if not is_provider_model(key):
                pool = " (limits are per provider model, not per [[models]] name)" * (
                    key in {m.name for m in config.models}
                )
                yield ConfigProblem(
                    path,
                    f'key "{key}" in [budget.model_limits] can never match{pool}; expected a '
                    'provider/model name such as "openai/gpt-4o"'
                    + _did_you_mean(key, list(served.values())),
                )
                continue
            if not self._registry.known(provider):
                yield ConfigProblem(
                    path,
                    f'unknown provider "{provider}" in key "{key}" in [budget.model_limits]; '
                    + self._unknown_provider(provider),
                )
                continue
            canonical = canonical_provider_model(self._registry, key)
            if canonical in first:
                yield ConfigProblem(
                    path,
                    f'key "{key}" in [budget.model_limits] is the same model as '
                    f'"{first[canonical]}" (provider spellings are equivalent); expected '
                    "one limit per model",
                )
                continue
            first[canonical] = key
            if not config.models:  # a fragment (the reference's own budget example is one)
                continue
            reachable = (
                canonical in served
                or config.general.passthrough
                or any(
                    fnmatchcase(key, a.pattern) or fnmatchcase(canonical, a.pattern)
                    for a in config.aliases
                )
            )
            if not reachable:
                yield ConfigProblem(
                    path,
                    f'key "{key}" in [budget.model_limits] matches no model the gateway '
                    "serves; expected the provider_model of a [[models]] entry"
                    + (f" ({', '.join(sorted(set(served.values())))})" if served else "")
                    + ", a name an [[aliases]] pattern allows, or [general] passthrough = true"
                    + _did_you_mean(key, list(served.values())),
                )

    def _probe_model(self, config: Config) -> Iterator[ConfigProblem]:
        """A health probe for a `provider/model` name the passthrough policy refuses
        would fail on every interval."""
        probe = config.health.probe_model if config.health else None
        if probe is None or not config.models or probe in {m.name for m in config.models}:
            return  # without [[models]] the file is a fragment (as the reference's own is)
        if not is_provider_model(probe) or config.general.passthrough:
            return
        if any(fnmatchcase(probe, alias.pattern) for alias in config.aliases):
            return
        yield ConfigProblem(
            ("health", "probe_model"),
            f'probe_model "{probe}" in [health] is not served: it is not a [[models]] name '
            "and no [[aliases]] pattern matches it; expected a [[models]] name, an "
            f'[[aliases]] entry matching it (e.g. pattern = "{probe.partition("/")[0]}/*"), '
            "or [general] passthrough = true",
        )


def _literal_provider(pattern: str) -> str | None:
    """The provider an [[aliases]] pattern names, when its provider part has no glob."""
    provider, slash, _ = pattern.partition("/")
    if not slash or not provider or any(c in provider for c in "*?["):
        return None
    return provider


def _did_you_mean(name: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""
