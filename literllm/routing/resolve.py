"""Turn the client's `model` into routes: a `[[models]]` pool, or a passthrough
`provider/model` with credentials from the first matching `[[aliases]]` entry.

Passthrough is the operator's choice: a `provider/model` name that is not a `[[models]]`
entry is served only when an `[[aliases]]` pattern matches it, or for every known
provider when `[general] passthrough = true`.

A route is a pool name plus its deployments; fallbacks follow the primary route in
the order `fallbacks` lists them, each model's own fallbacks after it, never twice.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping
from fnmatch import fnmatchcase

from ..config import CONFIG_FILENAME, AliasConfig, Config, ModelConfig
from ..errors import NotFoundError
from ..providers import ProviderRegistry, Target
from .credentials import credential_source
from .router import Deployment

__all__ = ["Resolver", "Route"]

_PASSTHROUGH_CACHE = 1024
# Where the native adapters read their endpoint from when base_url is not set.
_ENDPOINT_VARIABLES = {
    "bedrock": "AWS_REGION (or AWS_DEFAULT_REGION)",
    "vertex_ai": "VERTEXAI_PROJECT (or GOOGLE_CLOUD_PROJECT)",
}

Route = tuple[str, list[Deployment]]
MaxOutput = Callable[[str], "int | None"]


class Resolver:
    def __init__(
        self,
        config: Config,
        registry: ProviderRegistry,
        environ: Mapping[str, str],
        max_output_tokens: MaxOutput | None = None,
        config_name: str = CONFIG_FILENAME,
    ) -> None:
        self._config = config
        self._file = config_name
        self._registry = registry
        self._environ = environ
        self._max_output = max_output_tokens or (lambda _pm: None)
        self.pools: dict[str, list[Deployment]] = {}
        for index, model in enumerate(config.models, start=1):
            deployment = self._deployment(
                model.name, model.provider_model, model.api_key, model.base_url, model, index
            )
            self.pools.setdefault(model.name, []).append(deployment)
        self._fallbacks: dict[str, list[str]] = {}
        for model in config.models:
            chain = self._fallbacks.setdefault(model.name, [])
            chain.extend(f for f in model.fallbacks if f not in chain)
        self._passthrough: OrderedDict[str, Deployment] = OrderedDict()
        self._routes = {name: self._chain(name) for name in self.pools}

    def routes(self, model: str) -> list[Route]:
        """The primary route and then every fallback route, loop-free (do not mutate)."""
        routes = self._routes.get(model)
        if routes is not None:
            return routes
        return [(model, self.pool(model))]  # passthrough models have no fallbacks

    def _chain(self, model: str) -> list[Route]:
        routes = [(model, self.pools[model])]
        seen = {model}
        queue = list(self._fallbacks.get(model, ()))
        while queue:
            name = queue.pop(0)
            if name in seen:
                continue
            seen.add(name)
            pool = self.pools.get(name)
            if pool:
                routes.append((name, pool))
                queue.extend(self._fallbacks.get(name, ()))
        return routes

    def pool(self, model: str) -> list[Deployment]:
        pool = self.pools.get(model)
        if pool is not None:
            return pool
        deployment = self._passthrough.get(model)
        if deployment is not None:
            self._passthrough.move_to_end(model)
            return [deployment]
        provider, sep, model_id = model.partition("/")
        if not sep or not provider or not model_id or not self._registry.known(provider):
            raise NotFoundError(
                f"model {model!r} is not configured: add a [[models]] entry with "
                f'name = "{model}" to {self._file}, or request a provider model '
                "as 'provider/model' (for example 'openai/gpt-4o-mini') that an "
                "[[aliases]] pattern allows",
                param="model",
                code="model_not_found",
            )
        alias = self._alias(model)
        if alias is None and not self._config.general.passthrough:
            raise NotFoundError(
                f"model {model!r} is not configured and passthrough is off: add a "
                f'[[models]] entry with provider_model = "{model}", an [[aliases]] entry '
                f'whose pattern matches it (e.g. pattern = "{provider}/*"), or set '
                f"[general] passthrough = true in {self._file}",
                param="model",
                code="model_not_found",
            )
        deployment = self._deployment(
            model,
            model,
            alias.api_key if alias else None,
            alias.base_url if alias else None,
            None,
            0,
        )
        self._passthrough[model] = deployment
        if len(self._passthrough) > _PASSTHROUGH_CACHE:
            self._passthrough.popitem(last=False)
        return [deployment]

    def fallbacks(self, model: str) -> list[str]:
        return list(self._fallbacks.get(model, ()))

    def _alias(self, provider_model: str) -> AliasConfig | None:
        for alias in self._config.aliases:
            if fnmatchcase(provider_model, alias.pattern):
                return alias
        return None

    def _deployment(
        self,
        name: str,
        provider_model: str,
        api_key: str | None,
        base_url: str | None,
        config: ModelConfig | None,
        index: int,
    ) -> Deployment:
        provider, _, model_id = provider_model.partition("/")
        registry = self._registry
        adapter = registry.adapter(provider)
        canonical = registry.canonical(provider)
        endpoint = (
            base_url or self._native_base_url(adapter) or registry.default_base_url(provider) or ""
        )
        env_var = registry.env_var(provider)
        plan = adapter.credential(
            api_key or (self._environ.get(env_var) if env_var else None) or None
        )
        key = plan.api_key
        credential = credential_source(plan, self._environ)
        missing = None
        needs_key = plan.required
        if key is None and needs_key:
            where = f"the {env_var} environment variable" if env_var else "api_key"
            missing = (
                f"no credential for provider {provider!r}: set api_key for "
                f"{provider_model!r} in {self._file} or {where}"
            )
        if not endpoint:
            variable = _ENDPOINT_VARIABLES.get(canonical)
            missing = (
                f"no endpoint for provider {provider!r}: set base_url for "
                f"{provider_model!r} in {self._file}"
                + (f" or the {variable} environment variable" if variable else "")
            )
        timeout = float(
            config.timeout_secs
            if config and config.timeout_secs is not None
            else self._config.general.default_timeout_secs
        )
        target = Target(
            provider=canonical,
            model=model_id or provider_model,
            base_url=endpoint,
            api_key=key,
            max_output_tokens=self._max_output(provider_model),
        )
        label = f"{name}#{index}" if index else provider_model
        return Deployment(
            name=name,
            label=label,
            config=config,
            target=target,
            adapter=adapter,
            timeout=timeout,
            weight=config.weight if config else 1.0,
            missing_credential=missing,
            credential=credential,
        )

    def _native_base_url(self, adapter: object) -> str | None:
        resolve = getattr(adapter, "resolve_base_url", None)
        if callable(resolve):
            value = resolve(self._environ)
            return value if isinstance(value, str) and value else None
        return None
