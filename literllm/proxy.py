"""`Proxy`: everything the config describes, as plain async calls.

The HTTP server only translates; a service can use the same gateway in-process:

    async with Proxy.from_toml("liter-llm-proxy.toml") as proxy:
        answer = await proxy.chat({"model": "gpt-4o", "messages": [...]}, api_key=key)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

from .auth import Authenticator, Caller
from .clock import Clock, SystemClock
from .config import Config, FilesConfig, apply_overrides, load_config
from .errors import (
    BadRequestError,
    ConfigError,
    LiterLLMError,
    NotFoundError,
    PermissionDeniedError,
)
from .exchange import Exchange
from .governance.governor import Governor
from .observability.redact import effective_config
from .observability.telemetry import Telemetry
from .outcome import Outcome
from .pricing import Pricing
from .providers import ProviderRegistry
from .requests import decode_body, validate_chat, validate_embeddings
from .results import ChatStream, Response
from .routing.dispatch import Dispatcher
from .routing.health import HealthProber
from .routing.resolve import Resolver
from .routing.router import Router
from .transport.base import Transport
from .transport.dispatching import DispatchingTransport

if TYPE_CHECKING:  # imported when a Proxy is built: OpenDAL and prometheus_client are slow
    from .observability.metrics import SpendCap

__all__ = ["Proxy"]

log = logging.getLogger("literllm")

_TRACE_CONTENT_ENV = "LITER_LLM_TRACE_CONTENT"


class Proxy:
    """The gateway. Build with `from_toml` or `from_config`; use as an async context.

    Every call takes the caller's API key and applies the same authentication, model
    allowlist, rate limits, budgets, cache and routing as the HTTP server does.
    """

    def __init__(
        self,
        config: Config,
        *,
        transport: Transport | None = None,
        clock: Clock | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        from .observability.metrics import Metrics
        from .storage.cache import ResponseCache
        from .storage.files import FileStore

        self.config = config
        self.clock: Clock = clock or SystemClock()
        self._environ = dict(os.environ if environ is None else environ)
        if transport is None:
            from .transport.client import HttpTransport, proxies_from

            proxies = proxies_from(self._environ)  # HTTPS_PROXY, HTTP_PROXY, NO_PROXY
            try:
                network = HttpTransport(proxies=proxies)
            except ValueError as error:
                raise ConfigError(
                    f"HTTPS_PROXY / HTTP_PROXY: {error}; set it to http://host:port "
                    "(or http://user:password@host:port) or unset it",
                    path="environment",
                ) from None
            transport = DispatchingTransport(network)
        self.transport: Transport = transport
        self.registry = ProviderRegistry()
        self.pricing = Pricing.load()
        self.auth = Authenticator(config.general.master_key, config.keys)
        self.resolver = Resolver(
            config, self.registry, self._environ, max_output_tokens=self.pricing.max_output_tokens
        )
        cooldown = config.cooldown.duration_secs if config.cooldown else None
        self.router = Router(
            self.resolver.pools,
            strategy=config.routing.strategy,
            cooldown_secs=cooldown,
            clock=self.clock,
        )
        self.dispatcher = Dispatcher(config, self.router, self.clock)
        self.governor = Governor.from_config(config, clock=self.clock, pricing=self.pricing)
        self.cache = (
            ResponseCache.from_config(config.cache, clock=self.clock)
            if config.cache is not None
            else None
        )
        # /v1/files works without a [files] table, on the documented default (memory).
        self.files = FileStore.from_config(config.files or FilesConfig(), clock=self.clock)
        self.metrics = Metrics(
            known_models=list(self.resolver.pools),
            known_deployments=[d.label for d in self.router.deployments()],
            known_keys=["master", *self.auth.labels()],
        )
        self.router.on_cooldown = lambda d: self.metrics.cooldown(d.name, d.label)
        self.telemetry = Telemetry(
            config.general.enable_tracing,
            record_content=self._environ.get(_TRACE_CONTENT_ENV, "") in ("1", "true", "yes"),
        )
        health = config.health
        self.prober = (
            HealthProber(
                probe_model=health.probe_model,
                interval=float(health.interval_secs),
                resolver=self.resolver,
                router=self.router,
                transport=self.transport,
                clock=self.clock,
            )
            if health and health.interval_secs and health.probe_model
            else None
        )
        self._background: list[asyncio.Task[None]] = []
        self._started = False
        self.created = int(time.time())

    # -- construction and lifecycle ---------------------------------------------

    @classmethod
    def from_toml(
        cls,
        path: str | os.PathLike[str] | None = None,
        *,
        transport: Transport | None = None,
        clock: Clock | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Proxy:
        """Load `liter-llm-proxy.toml` (discovered from the working directory when `path`
        is None) and build a proxy for it. The master key falls back to
        `LITER_LLM_MASTER_KEY` when the file sets none."""
        config = apply_overrides(load_config(path, environ), environ=environ)
        return cls(config, transport=transport, clock=clock, environ=environ)

    @classmethod
    def from_config(
        cls,
        config: Config,
        *,
        transport: Transport | None = None,
        clock: Clock | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Proxy:
        return cls(config, transport=transport, clock=clock, environ=environ)

    async def start(self) -> None:
        """Connect the state store and start health probes (idempotent)."""
        if self._started:
            return
        self._started = True
        await self.governor.start()
        if self.files.startup_warning:
            if self.config.files is not None:
                log.warning("%s", self.files.startup_warning)
            else:
                log.info("no [files] table: /v1/files keeps uploads in memory until restart")
        for deployment in self.router.deployments():
            if deployment.missing_credential:
                log.warning("%s: %s", deployment.label, deployment.missing_credential)
        if self.prober is not None:
            self._background.append(asyncio.create_task(self.prober.run()))

    async def aclose(self) -> None:
        for task in self._background:
            task.cancel()
        for task in self._background:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._background.clear()
        self._started = False
        if self.cache is not None:
            await self.cache.aclose()
        await self.governor.aclose()
        await self.transport.aclose()

    async def __aenter__(self) -> Proxy:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- readiness and health ----------------------------------------------------

    def readiness(self) -> tuple[bool, str]:
        if not self.config.models:
            return False, "no models are configured: add a [[models]] entry"
        if self.auth.closed:
            return False, "no API keys are configured: set [general] master_key or add [[keys]]"
        if not self._started:
            return False, "starting"
        return True, "ready"

    def health(self) -> dict[str, Any]:
        states = [self.router.state_of(d) for d in self.router.deployments()]
        up = sum(1 for s in states if s.state in ("healthy", "half_open"))
        status = "healthy" if states and up == len(states) else "degraded" if up else "unhealthy"
        return {
            "status": status,
            "deployments": [{f: getattr(s, f) for f in s.__struct_fields__} for s in states],
        }

    # -- models -----------------------------------------------------------------

    @staticmethod
    def decode(body: bytes | Mapping[str, Any]) -> dict[str, Any]:
        """Decode a JSON request body (400 when it is not a JSON object)."""
        return decode_body(body)

    def authenticate(self, api_key: str | None) -> Caller:
        return self.auth.authenticate(api_key)

    def list_models(self, *, api_key: str | None) -> dict[str, Any]:
        caller = self.auth.authenticate(api_key)
        names = [name for name in self.resolver.pools if caller.may_use(name)]
        return {"object": "list", "data": [self._model_object(n) for n in names]}

    def get_model(self, model: str, *, api_key: str | None) -> dict[str, Any]:
        caller = self.auth.authenticate(api_key)
        if model not in self.resolver.pools or not caller.may_use(model):
            raise NotFoundError(
                f"model {model!r} does not exist or this key may not use it",
                param="model",
                code="model_not_found",
            )
        return self._model_object(model)

    def _model_object(self, name: str) -> dict[str, Any]:
        return {"id": name, "object": "model", "created": self.created, "owned_by": "liter-llm"}

    # -- chat and embeddings ------------------------------------------------------

    async def chat(
        self,
        body: bytes | Mapping[str, Any],
        *,
        api_key: str | None,
        headers: Mapping[str, str] | None = None,
        outcome: Outcome | None = None,
    ) -> Response:
        """A non-streaming chat completion (a body with `stream: true` is refused).

        `outcome`, when given, is filled in with what happened (for access logs)."""
        exchange = self._exchange(body, api_key, "chat", headers, outcome)
        return await exchange.complete()

    async def embeddings(
        self,
        body: bytes | Mapping[str, Any],
        *,
        api_key: str | None,
        headers: Mapping[str, str] | None = None,
        outcome: Outcome | None = None,
    ) -> Response:
        exchange = self._exchange(body, api_key, "embeddings", headers, outcome)
        return await exchange.complete()

    async def chat_stream(
        self,
        body: bytes | Mapping[str, Any],
        *,
        api_key: str | None,
        headers: Mapping[str, str] | None = None,
        outcome: Outcome | None = None,
    ) -> ChatStream:
        """Open a streaming chat completion; returns once its first chunk is in hand.

        Iterate the result for chunk JSON bytes (or `json_chunks()` for dicts) and
        `aclose()` it when done early.
        """
        exchange = self._exchange(body, api_key, "chat", headers, outcome, stream=True)
        return await exchange.stream()

    async def chat_completions(
        self,
        body: bytes | Mapping[str, Any],
        *,
        api_key: str | None,
        headers: Mapping[str, str] | None = None,
        outcome: Outcome | None = None,
    ) -> Response | ChatStream:
        """What `POST /v1/chat/completions` answers: a `ChatStream` when the body asks
        for `stream: true`, else a `Response`. The body is decoded once."""
        exchange = self._exchange(body, api_key, "chat", headers, outcome, stream=None)
        if exchange.request.get("stream") is True:
            return await exchange.stream()
        return await exchange.complete()

    def _exchange(
        self,
        body: bytes | Mapping[str, Any],
        api_key: str | None,
        kind: str,
        headers: Mapping[str, str] | None,
        outcome: Outcome | None,
        stream: bool | None = False,
    ) -> Exchange:
        """Authenticate, decode and validate; refusals here are counted in metrics.
        `stream`: True forces streaming, False refuses it, None lets the body decide."""
        model = "-"
        key = "-"
        try:
            caller = self.auth.authenticate(api_key)  # before reading what a stranger sent
            key = caller.description
            request = decode_body(body)
            if isinstance(request.get("model"), str):
                model = request["model"]
            if kind == "chat":
                validate_chat(request)
                if stream is False and request.get("stream"):
                    raise BadRequestError("'stream': true needs chat_stream()", param="stream")
            else:
                validate_embeddings(request)
            if stream:
                request["stream"] = True
            caller.check_model(model)
        except LiterLLMError as error:
            if outcome is not None:
                outcome.model, outcome.key, outcome.status = model, key, error.status
            self.metrics.observe_request(
                model=model, deployment="-", key=key, status=error.status, duration=0.0
            )
            raise
        return Exchange(self, caller, request, kind, headers, outcome)

    # -- files --------------------------------------------------------------------

    def file_owner(self, api_key: str | None) -> str | None:
        """The owner id files are stored under for this key (None: the master key)."""
        caller = self.auth.authenticate(api_key)
        return None if caller.is_master else caller.identity

    async def create_file(
        self, *, api_key: str | None, filename: str, purpose: Any, chunks: AsyncIterator[bytes]
    ) -> dict[str, Any]:
        owner = self.file_owner(api_key)
        return await self.files.create(
            owner=owner, filename=filename, purpose=purpose, chunks=chunks
        )

    async def list_files(
        self,
        *,
        api_key: str | None,
        purpose: str | None = None,
        limit: int = 10000,
        after: str | None = None,
        order: str = "desc",
    ) -> dict[str, Any]:
        owner = self.file_owner(api_key)
        if order not in ("asc", "desc"):
            raise BadRequestError("order must be 'asc' or 'desc'", param="order")
        return await self.files.list(
            owner=owner,
            purpose=purpose,
            limit=limit,
            after=after,
            order="asc" if order == "asc" else "desc",
        )

    async def retrieve_file(self, file_id: str, *, api_key: str | None) -> dict[str, Any]:
        owner = self.file_owner(api_key)
        return await self.files.retrieve(owner=owner, file_id=file_id)

    async def file_content(self, file_id: str, *, api_key: str | None) -> AsyncIterator[bytes]:
        owner = self.file_owner(api_key)
        return await self.files.content(owner=owner, file_id=file_id)

    async def delete_file(self, file_id: str, *, api_key: str | None) -> dict[str, Any]:
        owner = self.file_owner(api_key)
        return await self.files.delete(owner=owner, file_id=file_id)

    # -- operators ----------------------------------------------------------------------

    def require_master(self, api_key: str | None) -> None:
        """Admin and metrics endpoints: the master key only (403 for virtual keys)."""
        caller = self.auth.authenticate(api_key)
        if not caller.is_master:
            raise PermissionDeniedError(
                "this endpoint needs the master key", code="master_key_required"
            )

    async def render_metrics(self) -> tuple[bytes, str]:
        snapshot = await self.governor.snapshot()
        self.metrics.update_spend(_spend_caps(snapshot))
        if self.cache is not None:
            stats = self.cache.stats
            self.metrics.update_cache_backend(
                errors=stats.errors, skipped=stats.skipped, writes=stats.writes
            )
        return self.metrics.render()

    async def admin_keys(self) -> dict[str, Any]:
        snapshot = await self.governor.snapshot()
        return {"object": "list", "data": snapshot["keys"]}

    async def admin_spend(self) -> dict[str, Any]:
        snapshot = await self.governor.snapshot()
        return {
            "global": snapshot["global"],
            "master": snapshot["master"],
            "models": snapshot["models"],
            "keys": [
                {
                    "id": k["id"],
                    "description": k["description"],
                    "spend": k["spend"],
                    "remaining_budget": k["remaining_budget"],
                }
                for k in snapshot["keys"]
            ],
        }

    def admin_models(self) -> dict[str, Any]:
        pools = []
        for name, deployments in self.resolver.pools.items():
            states = [self.router.state_of(d) for d in deployments]
            pools.append(
                {
                    "name": name,
                    "fallbacks": self.resolver.fallbacks(name),
                    "deployments": [
                        {f: getattr(s, f) for f in s.__struct_fields__} for s in states
                    ],
                }
            )
        return {"strategy": self.config.routing.strategy, "pools": pools}

    def admin_config(self) -> dict[str, Any]:
        return effective_config(self.config)


def _spend_caps(snapshot: dict[str, Any]) -> list[SpendCap]:
    from .observability.metrics import SpendCap

    caps = [
        SpendCap(
            scope="global",
            name="global",
            spent=snapshot["global"]["spend"],
            limit=snapshot["global"]["limits"]["budget_limit"],
        )
    ]
    caps += [
        SpendCap(scope="model", name=name, spent=m["spend"], limit=m["limit"])
        for name, m in snapshot["models"].items()
    ]
    caps += [
        SpendCap(
            scope="key",
            name=k["description"] or k["id"],
            spent=k["spend"],
            limit=k["limits"]["budget_limit"],
        )
        for k in snapshot["keys"]
    ]
    return caps
