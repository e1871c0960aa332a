"""`Proxy`: everything the config describes, as plain async calls.

The HTTP server only translates; a service can use the same gateway in-process:

    async with Proxy.from_toml("liter-llm-proxy.toml") as proxy:
        answer = await proxy.chat({"model": "gpt-4o", "messages": [...]}, api_key=key)
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

from .auth import Authenticator, Caller
from .clock import Clock, SystemClock
from .config import Config, load_config
from .dispatch import AttemptLog, Dispatcher
from .errors import BadRequestError, GatewayTimeoutError, LiterLLMError, NotFoundError
from .providers import ChatResult, ProviderRegistry, Usage
from .requests import decode_body, validate_chat, validate_embeddings
from .resolve import Resolver
from .results import ChatStream, Response
from .routing import Deployment, Router
from .streaming import OpenedStream, open_chat_stream
from .transport import Transport
from .upstream import AiohttpTransport, DispatchingTransport

__all__ = ["Proxy"]

log = logging.getLogger("literllm")

_DEFAULT_OUTPUT_ESTIMATE = 256


class Proxy:
    """The gateway. Build with `from_toml` or `from_config`; use as an async context."""

    def __init__(self, config: Config, *, transport: Transport | None = None,
                 clock: Clock | None = None, environ: Mapping[str, str] | None = None) -> None:
        self.config = config
        self.clock: Clock = clock or SystemClock()
        self._environ = dict(os.environ if environ is None else environ)
        self._transport: Transport = transport or DispatchingTransport(AiohttpTransport())
        self.registry = ProviderRegistry()
        self.auth = Authenticator(config.general.master_key, config.keys)
        self.resolver = Resolver(config, self.registry, self._environ)
        cooldown = config.cooldown.duration_secs if config.cooldown else None
        self.router = Router(self.resolver.pools, strategy=config.routing.strategy,
                             cooldown_secs=cooldown, clock=self.clock)
        self.dispatcher = Dispatcher(config, self.router, self.clock)
        self._started = False
        self.created = int(time.time())

    # -- construction and lifecycle ---------------------------------------------

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str] | None = None, *,
                  transport: Transport | None = None, clock: Clock | None = None,
                  environ: Mapping[str, str] | None = None) -> Proxy:
        """Load `liter-llm-proxy.toml` (discovered from the working directory when `path`
        is None) and build a proxy for it."""
        return cls(load_config(path, environ), transport=transport, clock=clock,
                   environ=environ)

    @classmethod
    def from_config(cls, config: Config, *, transport: Transport | None = None,
                    clock: Clock | None = None,
                    environ: Mapping[str, str] | None = None) -> Proxy:
        return cls(config, transport=transport, clock=clock, environ=environ)

    async def start(self) -> None:
        if self._started:
            return
        self._started = True
        if self.auth.closed:
            log.warning("no master key and no virtual keys are configured: every /v1 request "
                        "will be refused with 401 until one is set")

    async def aclose(self) -> None:
        self._started = False
        await self._transport.aclose()

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
        return True, "ready"

    def health(self) -> dict[str, Any]:
        states = [self.router.state_of(d) for d in self.router.deployments()]
        healthy = sum(1 for s in states if s.state in ("healthy", "half_open"))
        status = "healthy" if healthy == len(states) else "degraded" if healthy else \
            "unhealthy"
        if not states:
            status = "unhealthy"
        return {"status": status, "deployments": [
            {f: getattr(s, f) for f in s.__struct_fields__} for s in states]}

    @staticmethod
    def decode(body: bytes | Mapping[str, Any]) -> dict[str, Any]:
        """Decode a JSON request body (400 when it is not a JSON object)."""
        return decode_body(body)

    # -- models -----------------------------------------------------------------

    def list_models(self, *, api_key: str | None) -> dict[str, Any]:
        caller = self.auth.authenticate(api_key)
        names = [name for name in self.resolver.pools if caller.may_use(name)]
        return {"object": "list", "data": [self._model_object(n) for n in names]}

    def get_model(self, model: str, *, api_key: str | None) -> dict[str, Any]:
        caller = self.auth.authenticate(api_key)
        if model not in self.resolver.pools or not caller.may_use(model):
            raise NotFoundError(f"model {model!r} does not exist or this key may not use it",
                                param="model", code="model_not_found")
        return self._model_object(model)

    def _model_object(self, name: str) -> dict[str, Any]:
        return {"id": name, "object": "model", "created": self.created, "owned_by": "liter-llm"}

    # -- chat and embeddings ------------------------------------------------------

    async def chat(self, body: bytes | Mapping[str, Any], *, api_key: str | None,
                   headers: Mapping[str, str] | None = None) -> Response:
        """A non-streaming chat completion (a body with `stream: true` is refused)."""
        request = decode_body(body)
        validate_chat(request)
        if request.get("stream"):
            raise BadRequestError("use chat_stream() for 'stream': true", param="stream")
        caller = self._admit_caller(api_key, request["model"])
        return await self._with_deadline(self._complete(caller, request, "chat"))

    async def embeddings(self, body: bytes | Mapping[str, Any], *, api_key: str | None,
                         headers: Mapping[str, str] | None = None) -> Response:
        request = decode_body(body)
        validate_embeddings(request)
        caller = self._admit_caller(api_key, request["model"])
        return await self._with_deadline(self._complete(caller, request, "embeddings"))

    async def chat_stream(self, body: bytes | Mapping[str, Any], *, api_key: str | None,
                          headers: Mapping[str, str] | None = None) -> ChatStream:
        """Open a streaming chat completion once its first chunk is in hand."""
        request = decode_body(body)
        validate_chat(request)
        caller = self._admit_caller(api_key, request["model"])
        options = request.get("stream_options")
        include_usage = isinstance(options, dict) and bool(options.get("include_usage"))
        model = request["model"]
        routes = self.resolver.routes(model)
        attempt_log = AttemptLog()

        async def done(opened: OpenedStream, error: BaseException | None) -> None:
            return None

        stream: ChatStream = await self._with_deadline(open_chat_stream(
            self.dispatcher, self._transport, model, routes, request,
            include_usage=include_usage, log=attempt_log, headers=_route_headers,
            on_done=done))
        return stream

    def _admit_caller(self, api_key: str | None, model: str) -> Caller:
        caller = self.auth.authenticate(api_key)
        caller.check_model(model)
        return caller

    async def _with_deadline(self, work: Any) -> Any:
        limit = self.config.server.request_timeout_secs
        try:
            async with asyncio.timeout(limit):
                return await work
        except TimeoutError:
            raise GatewayTimeoutError(
                f"the request took longer than request_timeout_secs ({limit} s)",
                code="request_timeout") from None

    async def _complete(self, caller: Caller, request: dict[str, Any], kind: str) -> Response:
        model = request["model"]
        routes = self.resolver.routes(model)
        attempt_log = AttemptLog()

        async def attempt(deployment: Deployment) -> ChatResult:
            target = deployment.target
            adapter = deployment.adapter
            if kind == "chat":
                upstream = adapter.chat_request(target, dict(request), stream=False)
            else:
                upstream = adapter.embeddings_request(target, dict(request))
            response = await self._transport.send(upstream, timeout=deployment.timeout)
            if response.status >= 400:
                raise adapter.error(target, response.status, response.headers, response.body)
            if kind == "chat":
                return adapter.chat_response(target, response)
            result = adapter.embeddings_response(target, response)
            return ChatResult(body=result.body, usage=result.usage, model=result.model)

        result = await self.dispatcher.run(model, routes, attempt, attempt_log)
        return Response(result.body, _route_headers(attempt_log))


def _route_headers(log: AttemptLog) -> dict[str, str]:
    deployment = log.deployment
    if deployment is None:
        return {}
    return {
        "x-literllm-route": deployment.label,
        "x-literllm-provider-model": deployment.provider_model,
        "x-literllm-attempts": str(log.attempts),
    }


def _usage_or_zero(usage: Usage | None) -> Usage:
    return usage or Usage()


def _unused(*_: object) -> None:
    """Keep names referenced while integration lands."""
    _ = (AsyncIterator, LiterLLMError, _DEFAULT_OUTPUT_ESTIMATE)
