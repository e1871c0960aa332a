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
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import msgspec

from .admin import AdminAPI
from .alerts import Alerts
from .auth import Authenticator, Caller
from .batches import BatchesAPI, BatchRunner
from .batches.book import BatchBook
from .batches.lines import InputLine
from .batches.model import BatchDoc
from .clock import Clock, SystemClock
from .config import (
    CONFIG_FILENAME,
    Config,
    FilesConfig,
    UpstreamConfig,
    apply_overrides,
    find_config,
    load_config,
)
from .errors import (
    BadRequestError,
    ConfigError,
    LiterLLMError,
    NotFoundError,
    PermissionDeniedError,
)
from .exchange import Exchange
from .files_api import FilesAPI
from .governance import Governor
from .governance.audit import AuditLog
from .governance.endusers import EndUsers
from .governance.keys import KeyStore
from .governance.ratelimit import estimate_prompt_tokens
from .hooks import RequestContext, build_hooks
from .multipart import Form
from .observability.redact import config_secrets
from .observability.telemetry import Telemetry
from .observability.traffic import Traffic
from .operations import Operation, Operations, form_request
from .outcome import Outcome
from .pricing import Pricing
from .protocols.anthropic_messages import validate_messages
from .providers import ProviderRegistry
from .requests import decode_body, validate_chat, validate_embeddings
from .responses_api import ResponsesAPI
from .results import ChatStream, Response
from .routing import Dispatcher, HealthProber, Resolver, Router
from .routing.router import Deployment, DeploymentState
from .services import Services
from .state.base import HashRecord
from .state.records import create_record_store
from .state.sharedtraffic import CounterStore, SharedTraffic
from .transport import Transport
from .transport.dispatching import DispatchingTransport

__all__ = ["HealthReport", "ModelList", "ModelObject", "Proxy"]

log = logging.getLogger("literllm")

_TRACE_CONTENT_ENV = "LITER_LLM_TRACE_CONTENT"


class ModelObject(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    object: str
    created: int
    owned_by: str


class ModelList(msgspec.Struct, frozen=True, kw_only=True):
    object: str
    data: list[ModelObject]


class HealthReport(msgspec.Struct, frozen=True, kw_only=True):
    status: str
    deployments: list[DeploymentState]


class Proxy:
    """The gateway. Build with `from_toml` or `from_config`; use as an async context.

    Every call takes the caller's API key and applies the same authentication, model
    allowlist, rate limits, budgets, cache and routing as the HTTP server does.
    `proxy.files` holds the `/v1/files` calls and `proxy.admin` the operator's.
    """

    def __init__(
        self,
        config: Config,
        *,
        transport: Transport | None = None,
        clock: Clock | None = None,
        environ: Mapping[str, str] | None = None,
        config_name: str = CONFIG_FILENAME,
        hooks: Sequence[object] = (),
    ) -> None:
        from .observability.metrics import Metrics
        from .storage.cache import ResponseCache
        from .storage.files import FileStore
        from .storage.responses import ResponseStore

        self._config = config
        clock = clock or SystemClock()
        self._environ = dict(os.environ if environ is None else environ)
        if transport is None:
            transport = DispatchingTransport(_network_transport(self._environ, config.upstream))
        registry = ProviderRegistry()
        pricing = Pricing.load()
        self._operations = Operations(registry, pricing)
        self._auth = auth = Authenticator(
            config.general.master_key,
            config.keys,
            config_name=config_name,
            clock=clock,
            teams=config.teams,
        )
        resolver = Resolver(
            config, registry, self._environ, pricing.max_output_tokens, config_name=config_name
        )
        cooldown = config.cooldown.duration_secs if config.cooldown else None
        self._router = router = Router(
            resolver.pools, strategy=config.routing.strategy, cooldown_secs=cooldown, clock=clock
        )
        metrics = Metrics(
            known_models=list(resolver.pools),
            known_deployments=[d.label for d in router.deployments()],
            known_keys=["master", *auth.labels()],
        )
        router.on_cooldown = lambda d: metrics.cooldown(d.name, d.label)
        self._hooks = build_hooks(
            config,
            hooks,
            clock=clock,
            estimate_tokens=estimate_prompt_tokens,
            moderate=self._moderate,
        )
        governor = Governor.from_config(config, clock=clock, pricing=pricing)
        records = create_record_store(config.state)
        governor.end_users = EndUsers(records)
        self._keys = KeyStore(records, auth=auth, governor=governor, clock=clock)
        self._services = services = Services(
            config=config,
            clock=clock,
            governor=governor,
            cache=(
                ResponseCache.from_config(config.cache, clock=clock)
                if config.cache is not None
                else None
            ),
            resolver=resolver,
            dispatcher=Dispatcher(config, router, clock),
            transport=transport,
            metrics=metrics,
            telemetry=Telemetry(
                config.general.enable_tracing,
                record_content=self._environ.get(_TRACE_CONTENT_ENV, "") in ("1", "true", "yes"),
            ),
            hooks=self._hooks,
        )
        # /v1/files works without a [files] table, on the documented default (memory).
        self._file_store = FileStore.from_config(config.files or FilesConfig(), clock=clock)
        self.files = FilesAPI(auth, self._file_store)
        """`/v1/files` as calls: `create`, `list`, `retrieve`, `content`, `delete`."""
        book = BatchBook(services.governor.state)
        self.batches = BatchesAPI(
            auth,
            book,
            self._file_store,
            BatchRunner(
                book,
                self._file_store,
                self._run_batch_line,
                clock,
                config.batches,
                metrics.in_flight_total,
            ),
            clock,
        )
        """`/v1/batches` as calls: `create`, `list`, `retrieve`, `cancel`."""
        self.traffic = Traffic(clock, config.server.recent_requests)
        """Recent traffic of this process: the dashboard's series and request ring."""
        store = governor.state
        self._shared_traffic = (
            SharedTraffic(self.traffic, store, clock) if isinstance(store, CounterStore) else None
        )
        self.admin = AdminAPI(
            auth,
            services,
            router,
            self._keys,
            AuditLog(records, clock),
            traffic=self.traffic,
            shared_traffic=self._shared_traffic,
            secrets=self.secrets,
        )
        self._alerts = (
            Alerts(
                config,
                transport=_network_transport(self._environ, config.upstream),
                records=records,
                governor=governor,
                keys=self._keys,
                clock=clock,
            )
            if config.alerts is not None and config.alerts.webhook_urls
            else None
        )
        if self._alerts is not None:
            alerts, secs = self._alerts, float(cooldown or 0)

            def on_cooldown(deployment: Deployment) -> None:
                metrics.cooldown(deployment.name, deployment.label)
                alerts.cooldown(deployment.label, deployment.name, secs)

            router.on_cooldown = on_cooldown
        """The operator's calls, master key only: keys, spend, models, config, metrics."""
        self.responses = ResponsesAPI(
            auth, services, ResponseStore.from_config(config.files or FilesConfig())
        )
        """OpenAI's Responses API (`create`, `retrieve`, `delete`, `cancel`,
        `input_items`), for any provider, with stored conversations."""
        health = config.health
        self._prober = (
            HealthProber(
                probe_model=health.probe_model,
                interval=float(health.interval_secs),
                resolver=resolver,
                router=router,
                transport=transport,
                clock=clock,
            )
            if health and health.interval_secs and health.probe_model
            else None
        )
        self._background: list[asyncio.Task[None]] = []
        self._started = False
        self._created = int(time.time())

    @property
    def config(self) -> Config:
        """The configuration this gateway serves."""
        return self._config

    # -- construction and lifecycle ---------------------------------------------

    @classmethod
    def from_toml(
        cls,
        path: str | os.PathLike[str] | None = None,
        *,
        transport: Transport | None = None,
        clock: Clock | None = None,
        environ: Mapping[str, str] | None = None,
        hooks: Sequence[object] = (),
    ) -> Proxy:
        """Load `liter-llm-proxy.toml` (discovered from the working directory when `path`
        is None) and build a proxy for it. The master key falls back to
        `LITER_LLM_MASTER_KEY` when the file sets none."""
        found = find_config(path)
        config = apply_overrides(load_config(found, environ), environ=environ)
        name = found.name if found is not None else CONFIG_FILENAME
        return cls(
            config,
            transport=transport,
            clock=clock,
            environ=environ,
            config_name=name,
            hooks=hooks,
        )

    @classmethod
    def from_config(
        cls,
        config: Config,
        *,
        transport: Transport | None = None,
        clock: Clock | None = None,
        environ: Mapping[str, str] | None = None,
        config_name: str = CONFIG_FILENAME,
        hooks: Sequence[object] = (),
    ) -> Proxy:
        """`config_name` is how messages to clients name the config file (its base name)."""
        return cls(
            config,
            transport=transport,
            clock=clock,
            environ=environ,
            config_name=config_name,
            hooks=hooks,
        )

    async def start(self) -> None:
        """Connect the state store and start health probes (idempotent)."""
        if self._started:
            return
        self._started = True
        await self._services.governor.start()
        if self._hooks is not None:
            await self._hooks.start()
        await self._keys.start()
        if self._keys.shared:
            self._background.append(asyncio.create_task(self._keys.poll()))
        if self._alerts is not None:
            self._background.append(asyncio.create_task(self._alerts.run()))
        if self._shared_traffic is not None:
            self._background.append(asyncio.create_task(self._shared_traffic.run()))
        elif self._config.general.master_key:
            log.warning(
                '[state] backend = "memory": keys created through /admin/keys vanish on '
                'restart and are known to this process only; use "sqlite" or "redis" '
                "to keep them"
            )
        warning = self._file_store.startup_warning
        if warning:
            if self._config.files is not None:
                log.warning("%s", warning)
            else:
                log.info("no [files] table: /v1/files keeps uploads in memory until restart")
        for deployment in self._router.deployments():
            if deployment.missing_credential:
                log.warning("%s: %s", deployment.label, deployment.missing_credential)
        if self._prober is not None:
            self._background.append(asyncio.create_task(self._prober.run()))
        try:
            await self.batches.resume()
        except LiterLLMError as error:
            log.warning("batches: unfinished batches not resumed: %s", error)

    async def aclose(self) -> None:
        await self.batches.runner.aclose()
        for task in self._background:
            task.cancel()
        for task in self._background:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._background.clear()
        self._started = False
        services = self._services
        # Every step runs even when one before it raises (the failure is raised at
        # the end), so a failing cache or store never leaves upstream sockets open.
        async with contextlib.AsyncExitStack() as closing:  # runs last pushed first
            closing.push_async_callback(services.transport.aclose)
            closing.push_async_callback(self._keys.aclose)
            closing.push_async_callback(services.governor.aclose)
            if self._shared_traffic is not None:  # a failure keeps nothing: the process ends
                closing.push_async_callback(self._shared_traffic.flush)
            if self._alerts is not None:
                closing.push_async_callback(self._alerts.aclose)
            if services.cache is not None:
                closing.push_async_callback(services.cache.aclose)
            if self._hooks is not None:
                closing.push_async_callback(self._hooks.aclose)

    async def __aenter__(self) -> Proxy:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def secrets(self) -> list[str]:
        """Every secret this gateway holds (master key, virtual keys, provider keys), for
        a log scrubber; never send these anywhere."""
        found = set(config_secrets(self._config))
        found.update(d.target.api_key or "" for d in self._router.deployments())
        found.discard("")
        return sorted(found)

    async def _moderate(self, ctx: RequestContext, body: dict[str, Any]) -> dict[str, Any]:
        """The moderation guardrail's check: `/v1/moderations` as the request's caller."""
        caller = ctx._caller
        assert isinstance(caller, Caller)
        operation = self._operations.moderations
        exchange = Exchange(
            self._services, caller, body, operation.name, None, None, operation=operation
        )
        answer = (await exchange.complete()).json()
        return answer if isinstance(answer, dict) else {}

    async def drain_hooks(self) -> None:
        """Wait until every `on_complete` / `on_error` hook call so far has run."""
        if self._hooks is not None:
            await self._hooks.drain()

    # -- readiness and health ----------------------------------------------------

    def readiness(self) -> tuple[bool, str]:
        if not self._config.models:
            return False, "no models are configured: add a [[models]] entry"
        if self._auth.closed:
            return False, "no API keys are configured: set [general] master_key or add [[keys]]"
        if not self._started:
            return False, "starting"
        return True, "ready"

    def health(self) -> HealthReport:
        router = self._router
        states = [router.state_of(d) for d in router.deployments()]
        up = sum(1 for s in states if s.state in ("healthy", "half_open"))
        status = "healthy" if states and up == len(states) else "degraded" if up else "unhealthy"
        return HealthReport(
            status=status,
            deployments=states,
        )

    # -- models -----------------------------------------------------------------

    def list_models(self, *, api_key: str | None) -> ModelList:
        caller = self._auth.authenticate(api_key)
        names = [n for n in self._services.resolver.pools if caller.may_use(n)]
        return ModelList(object="list", data=[self._model_object(n) for n in names])

    def get_model(self, model: str, *, api_key: str | None) -> ModelObject:
        caller = self._auth.authenticate(api_key)
        if model not in self._services.resolver.pools or not caller.may_use(model):
            raise NotFoundError(
                f"model {model!r} does not exist or this key may not use it",
                param="model",
                code="model_not_found",
            )
        return self._model_object(model)

    def _model_object(self, name: str) -> ModelObject:
        return ModelObject(id=name, object="model", created=self._created, owned_by="liter-llm")

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

    # -- other inbound protocols ----------------------------------------------------

    async def messages(
        self,
        body: bytes | Mapping[str, Any],
        *,
        api_key: str | None,
        headers: Mapping[str, str] | None = None,
        outcome: Outcome | None = None,
    ) -> Response | ChatStream:
        """What `POST /v1/messages` answers (Anthropic Messages): a `Response` with the
        message, or for `stream: true` a `ChatStream` whose items are complete Anthropic
        SSE events, framed. Anthropic deployments get the body natively; others get it
        translated. `headers` carry `anthropic-version` / `anthropic-beta` upstream.
        Errors are raised as usual; `anthropic_error` gives Anthropic's shape of them."""
        exchange = self._exchange(body, api_key, "messages", headers, outcome, stream=None)
        if exchange.request.get("stream") is True:
            return await exchange.stream()
        return await exchange.complete()

    async def count_tokens(
        self,
        body: bytes | Mapping[str, Any],
        *,
        api_key: str | None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """`POST /v1/messages/count_tokens`: Anthropic's own count when the model's
        first route has an Anthropic deployment, else the gateway's estimate."""
        from .routing.count_tokens import count_tokens

        caller = self._auth.authenticate(api_key)
        request = decode_body(body)
        validate_messages(request, count_tokens=True)
        caller.check_model(request["model"])
        services = self._services
        # hooks: before_request only (the prompt may go to Anthropic to be counted);
        # no upstream model answers, so no other point runs
        hooks = (
            services.hooks.select(caller, request, "count_tokens", headers)
            if services.hooks is not None
            else None
        )
        if hooks is not None and hooks.plan.before:
            request = await hooks.before_request(request)
        return await count_tokens(services.resolver, services.transport, request, headers)

    # -- the other endpoints -------------------------------------------------------------

    async def completions(
        self,
        body: bytes | Mapping[str, Any],
        *,
        api_key: str | None,
        headers: Mapping[str, str] | None = None,
        outcome: Outcome | None = None,
    ) -> Response | ChatStream:
        """`POST /v1/completions`: a `ChatStream` of text completion chunks when the body
        asks for `stream: true`, else a `Response`. Providers that serve only chat get
        the prompt as one user message."""
        operation = self._operations.completions
        exchange = self._exchange(
            body, api_key, operation.name, headers, outcome, stream=None, operation=operation
        )
        if exchange.request.get("stream") is True:
            return await exchange.stream()
        return await exchange.complete()

    async def moderations(
        self,
        body: bytes | Mapping[str, Any],
        *,
        api_key: str | None,
        headers: Mapping[str, str] | None = None,
        outcome: Outcome | None = None,
    ) -> Response:
        """`POST /v1/moderations` (cached like embeddings when `[cache]` is on)."""
        return await self._complete(self._operations.moderations, body, api_key, headers, outcome)

    async def rerank(
        self,
        body: bytes | Mapping[str, Any],
        *,
        api_key: str | None,
        headers: Mapping[str, str] | None = None,
        outcome: Outcome | None = None,
    ) -> Response:
        """`POST /v1/rerank`, Cohere/Jina shape (cached like embeddings)."""
        return await self._complete(self._operations.rerank, body, api_key, headers, outcome)

    async def images_generate(
        self,
        body: bytes | Mapping[str, Any],
        *,
        api_key: str | None,
        headers: Mapping[str, str] | None = None,
        outcome: Outcome | None = None,
    ) -> Response:
        """`POST /v1/images/generations`."""
        operation = self._operations.image_generations
        return await self._complete(operation, body, api_key, headers, outcome)

    async def images_edit(
        self,
        form: Form,
        *,
        api_key: str | None,
        headers: Mapping[str, str] | None = None,
        outcome: Outcome | None = None,
    ) -> Response:
        """`POST /v1/images/edits`: `form` has the `image` file(s), `prompt`, `model`."""
        operation = self._operations.image_edits
        return await self._complete(operation, form, api_key, headers, outcome)

    async def images_variation(
        self,
        form: Form,
        *,
        api_key: str | None,
        headers: Mapping[str, str] | None = None,
        outcome: Outcome | None = None,
    ) -> Response:
        """`POST /v1/images/variations`: `form` has the `image` file and `model`."""
        operation = self._operations.image_variations
        return await self._complete(operation, form, api_key, headers, outcome)

    async def audio_speech(
        self,
        body: bytes | Mapping[str, Any],
        *,
        api_key: str | None,
        headers: Mapping[str, str] | None = None,
        outcome: Outcome | None = None,
    ) -> ChatStream:
        """`POST /v1/audio/speech`: the audio's bytes as they arrive (iterate the stream;
        `speech_content_type(body)` is their content type)."""
        operation = self._operations.speech
        exchange = self._exchange(
            body, api_key, operation.name, headers, outcome, stream=True, operation=operation
        )
        return await exchange.stream()

    def check_api_key(self, api_key: str | None) -> None:
        """401 unless `api_key` is known: servers call it before reading an upload."""
        self._auth.authenticate(api_key)

    @staticmethod
    def speech_content_type(body: Mapping[str, Any]) -> str:
        """The content type of `/v1/audio/speech` audio for the body's `response_format`."""
        from .operations.audio import SPEECH_FORMATS

        return SPEECH_FORMATS.get(str(body.get("response_format") or "mp3"), "audio/mpeg")

    async def audio_transcriptions(
        self,
        form: Form,
        *,
        api_key: str | None,
        headers: Mapping[str, str] | None = None,
        outcome: Outcome | None = None,
    ) -> Response | ChatStream:
        """`POST /v1/audio/transcriptions`; `Response.content_type` follows the
        `response_format` (JSON, or text for text, srt and vtt). With the form field
        `stream=true`, a `ChatStream` of the provider's transcript events."""
        operation = self._operations.transcriptions
        exchange = self._exchange(
            form, api_key, operation.name, headers, outcome, stream=None, operation=operation
        )
        if exchange.request.get("stream") is True:
            return await exchange.stream()
        return await exchange.complete()

    async def audio_translations(
        self,
        form: Form,
        *,
        api_key: str | None,
        headers: Mapping[str, str] | None = None,
        outcome: Outcome | None = None,
    ) -> Response:
        """`POST /v1/audio/translations` (into English)."""
        operation = self._operations.translations
        return await self._complete(operation, form, api_key, headers, outcome)

    async def search(
        self,
        body: bytes | Mapping[str, Any],
        *,
        api_key: str | None,
        headers: Mapping[str, str] | None = None,
        outcome: Outcome | None = None,
    ) -> Response:
        """`POST /v1/search` (web search, the Rust liter-llm's shape)."""
        return await self._complete(self._operations.search, body, api_key, headers, outcome)

    async def ocr(
        self,
        body: bytes | Mapping[str, Any],
        *,
        api_key: str | None,
        headers: Mapping[str, str] | None = None,
        outcome: Outcome | None = None,
    ) -> Response:
        """`POST /v1/ocr` (document OCR, the Rust liter-llm's shape; Mistral OCR)."""
        return await self._complete(self._operations.ocr, body, api_key, headers, outcome)

    async def _complete(
        self,
        operation: Operation,
        body: bytes | Mapping[str, Any] | Form,
        api_key: str | None,
        headers: Mapping[str, str] | None,
        outcome: Outcome | None,
    ) -> Response:
        exchange = self._exchange(
            body, api_key, operation.name, headers, outcome, operation=operation
        )
        return await exchange.complete()

    async def _run_batch_line(
        self,
        doc: BatchDoc,
        line: InputLine,
        record: Callable[[bytes, float], HashRecord],
    ) -> tuple[int, bytes]:
        """One batch line through the live pipeline, as the batch's key."""
        caller = self._auth.caller_for(doc.key)
        if caller is None:
            error: LiterLLMError = PermissionDeniedError(
                "the key that created this batch is no longer configured"
            )
            return error.status, error.to_json()
        operations = {
            "/v1/completions": self._operations.completions,
            "/v1/moderations": self._operations.moderations,
        }
        operation = operations.get(doc.endpoint)
        kind = "embeddings" if doc.endpoint == "/v1/embeddings" else "chat"
        body = dict(line.body)
        try:
            if body.get("stream"):
                raise BadRequestError("batch lines cannot stream", param="stream")
            if doc.endpoint == "/v1/responses":
                answer = await self.responses.create(
                    body, api_key=None, caller=caller, settle_record=record
                )
                assert isinstance(answer, Response)  # not streamed: refused above
                return answer.status, answer.body
            if operation is not None:
                operation.validate(body)
                kind = operation.name
            elif kind == "chat":
                validate_chat(body)
            else:
                validate_embeddings(body)
            caller.check_model(body["model"])
            exchange = Exchange(self._services, caller, body, kind, None, None, operation=operation)
            exchange.settle_record = record
            response = await exchange.complete()
        except LiterLLMError as failure:
            return failure.status, failure.to_json()
        return response.status, response.body

    def _exchange(
        self,
        body: bytes | Mapping[str, Any] | Form,
        api_key: str | None,
        kind: str,
        headers: Mapping[str, str] | None,
        outcome: Outcome | None,
        stream: bool | None = False,
        operation: Operation | None = None,
    ) -> Exchange:
        """Authenticate, decode and validate; refusals here are counted in metrics.
        `stream`: True forces streaming, False refuses it, None lets the body decide."""
        model = "-"
        key = "-"
        try:
            caller = self._auth.authenticate(api_key)  # before reading what a stranger sent
            key = caller.description
            request = form_request(body) if isinstance(body, Form) else decode_body(body)
            if isinstance(request.get("model"), str):
                model = request["model"]
            if operation is not None:
                operation.validate(request)
                model = request["model"]
                if stream is False and request.get("stream"):
                    raise BadRequestError(
                        f"{operation.endpoint} does not stream here", param="stream"
                    )
            elif kind == "chat":
                validate_chat(request)
                if stream is False and request.get("stream"):
                    raise BadRequestError("'stream': true needs chat_stream()", param="stream")
            elif kind == "messages":
                validate_messages(request)
            else:
                validate_embeddings(request)
            if stream:
                request["stream"] = True
            caller.check_model(model)
        except LiterLLMError as error:
            if outcome is not None:
                outcome.model, outcome.key, outcome.status = model, key, error.status
                outcome.error_type = error.error_type
                if key != "-":
                    outcome.key_id = caller.identity
            self._services.metrics.observe_request(
                model=model, deployment="-", key=key, status=error.status, duration=0.0
            )
            raise
        inbound = None
        if kind == "messages":
            from .routing.count_tokens import estimate_input_tokens
            from .routing.inbound import MessagesInbound

            # message_start of a translated stream carries an estimate (the upstream's
            # count comes at the end, in message_delta)
            estimate = estimate_input_tokens(request) if request.get("stream") else 0
            inbound = MessagesInbound(request, headers, prompt_tokens=estimate)
        return Exchange(self._services, caller, request, kind, headers, outcome, inbound, operation)


def _network_transport(environ: Mapping[str, str], limits: UpstreamConfig) -> Transport:
    from .transport.client import HttpTransport, proxies_from

    proxies = proxies_from(environ)  # HTTPS_PROXY, HTTP_PROXY, NO_PROXY
    try:
        return HttpTransport(
            proxies=proxies,
            max_response_bytes=limits.max_response_bytes,
            max_event_bytes=limits.max_event_bytes,
            max_connections=limits.max_connections,
            max_connections_per_host=limits.max_connections_per_host,
            pool_timeout=limits.pool_timeout_secs,
            idle_timeout=limits.idle_timeout_secs,
        )
    except ValueError as error:
        raise ConfigError(
            f"HTTPS_PROXY / HTTP_PROXY: {error}; set it to http://host:port "
            "(or http://user:password@host:port) or unset it",
            path="environment",
        ) from None
