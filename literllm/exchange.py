"""One request's journey: admit, look in the cache, dispatch, settle, record.

`Exchange` holds everything a request touches (the proxy's parts, the caller, the
decoded body) so that the non-streaming and streaming paths share one admission,
one settlement and one telemetry record.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .auth import Caller
from .dispatch import AttemptLog
from .providers import ChatResult, Usage
from .ratelimit import estimate_prompt_tokens, estimate_request_tokens
from .results import ChatStream, Response
from .routing import Deployment
from .streaming import OpenedStream, open_chat_stream

if TYPE_CHECKING:
    from .governance import Admission
    from .proxy import Proxy
    from .telemetry import RequestSpan

__all__ = ["Exchange"]


def _cache_policy(headers: Mapping[str, str] | None) -> tuple[bool, bool]:
    """(may read, may write) from the client's `Cache-Control`."""
    if not headers:
        return True, True
    value = headers.get("cache-control") or headers.get("Cache-Control")
    if not value:
        return True, True
    directives = {d.strip().lower() for d in value.split(",")}
    return "no-cache" not in directives, "no-store" not in directives


class Exchange:
    __slots__ = (
        "admission",
        "caller",
        "headers",
        "kind",
        "log",
        "model",
        "proxy",
        "request",
        "span",
    )

    def __init__(
        self,
        proxy: Proxy,
        caller: Caller,
        request: dict[str, Any],
        kind: str,
        headers: Mapping[str, str] | None,
    ) -> None:
        self.proxy = proxy
        self.caller = caller
        self.request = request
        self.kind = kind
        self.model: str = request["model"]
        self.headers = headers
        self.log = AttemptLog()
        self.admission: Admission | None = None
        self.span: RequestSpan = proxy.telemetry.start_request(
            operation=kind,
            request_model=self.model,
            params=request,
            traceparent=headers.get("traceparent") if headers else None,
            tracestate=headers.get("tracestate") if headers else None,
        )

    async def _admit(self) -> Admission:
        governor = self.proxy.governor
        admission = await governor.admit(
            key=None if self.caller.is_master else self.caller.key,
            model=self.model,
            estimated_tokens=estimate_request_tokens(self.request),
        )
        self.admission = admission
        return admission

    async def _reserve(self, deployment: Deployment) -> None:
        assert self.admission is not None
        governor = self.proxy.governor
        pm = deployment.provider_model
        requested = self.request.get("max_completion_tokens") or self.request.get("max_tokens")
        cap = governor.output_cap(pm, requested if isinstance(requested, int) else None)
        await self.admission.reserve(
            provider_model=pm,
            max_cost=governor.estimate_max_cost(pm, estimate_prompt_tokens(self.request), cap),
        )

    def _headers(self, cost: float | None) -> dict[str, str]:
        headers = dict(self.admission.headers) if self.admission else {}
        deployment = self.log.deployment
        if deployment is not None:
            headers["x-literllm-route"] = deployment.label
            headers["x-literllm-provider-model"] = deployment.provider_model
            headers["x-literllm-attempts"] = str(self.log.attempts)
        if cost is not None and self.proxy.config.general.enable_cost_tracking:
            headers["x-literllm-response-cost"] = f"{cost:.10f}".rstrip("0").rstrip(".") or "0"
        return headers

    # -- non-streaming ---------------------------------------------------------------

    async def complete(self) -> Response:
        try:
            return await self._complete()
        except BaseException as error:
            self.span.fail(error)
            raise
        finally:
            self.span.end()
            if self.admission is not None:
                await self.admission.release()

    async def _complete(self) -> Response:
        proxy = self.proxy
        admission = await self._admit()
        cache = proxy.cache
        cache_key: str | None = None
        may_write = False
        cache_state: str | None = None
        if cache is not None:
            may_read, may_write = _cache_policy(self.headers)
            cache_key = cache.key(
                endpoint=self.kind, model=self.model, body=self.request, caller=self.caller.identity
            )
            if may_read:
                cached = await cache.get(cache_key)
                if cached is not None:
                    self.span.cache_hit()
                    await admission.settle(provider_model=None, usage=None)
                    headers = self._headers(0.0)
                    headers["x-literllm-cache"] = "hit"
                    return Response(cached, headers)
            cache_state = "miss" if may_read else "bypass"

        routes = proxy.resolver.routes(self.model)
        result = await proxy.dispatcher.run(self.model, routes, self._attempt, self.log)
        deployment = self.log.deployment
        assert deployment is not None
        cost = await admission.settle(provider_model=deployment.provider_model, usage=result.usage)
        tracked = cost if proxy.config.general.enable_cost_tracking else None
        self.span.finish(
            result.model,
            result.response_id,
            result.finish_reasons,
            result.usage,
            tracked,
            response_body=result.body,
        )
        if cache is not None and cache_key is not None and may_write:
            await cache.set(cache_key, result.body)
        headers = self._headers(cost)
        if cache_state is not None:
            headers["x-literllm-cache"] = cache_state
        return Response(result.body, headers)

    async def _attempt(self, deployment: Deployment) -> ChatResult:
        await self._reserve(deployment)
        target = deployment.target
        adapter = deployment.adapter
        with self.span.attempt(
            target.provider,
            deployment.provider_model,
            deployment.label,
            fallback=deployment.name != self.model,
        ) as attempt:
            if self.kind == "chat":
                upstream = adapter.chat_request(target, dict(self.request), stream=False)
            else:
                upstream = adapter.embeddings_request(target, dict(self.request))
            response = await self.proxy.transport.send(upstream, timeout=deployment.timeout)
            attempt.status_code(response.status)
            if response.status >= 400:
                raise adapter.error(target, response.status, response.headers, response.body)
            if self.kind == "chat":
                return adapter.chat_response(target, response)
            embedded = adapter.embeddings_response(target, response)
            return ChatResult(body=embedded.body, usage=embedded.usage, model=embedded.model)

    # -- streaming ---------------------------------------------------------------------

    async def stream(self) -> ChatStream:
        try:
            return await self._stream()
        except BaseException as error:
            self.span.fail(error)
            self.span.end()
            if self.admission is not None:
                await self.admission.release()
            raise

    async def _stream(self) -> ChatStream:
        proxy = self.proxy
        await self._admit()
        options = self.request.get("stream_options")
        include_usage = isinstance(options, dict) and bool(options.get("include_usage"))
        routes = proxy.resolver.routes(self.model)
        started = proxy.clock.monotonic()

        async def reserve_then_open(deployment: Deployment) -> None:
            await self._reserve(deployment)

        stream = await open_chat_stream(
            proxy.dispatcher,
            proxy.transport,
            self.model,
            routes,
            self.request,
            include_usage=include_usage,
            log=self.log,
            headers=lambda _log: self._headers(None),
            on_done=self._stream_done,
            before_attempt=reserve_then_open,
        )
        self.span.first_chunk(proxy.clock.monotonic() - started)
        return stream

    async def _stream_done(self, opened: OpenedStream, error: BaseException | None) -> None:
        usage = opened.usage
        if usage is None:
            # Cut short before the provider reported usage: charge what was seen.
            # About one token per streamed chunk, as OpenAI-style providers send them.
            prompt = estimate_prompt_tokens(self.request)
            completion = opened.streamed_chunks
            usage = Usage(
                prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion
            )
        try:
            if self.admission is not None:
                cost = await self.admission.settle(
                    provider_model=opened.deployment.provider_model, usage=usage
                )
                tracked = cost if self.proxy.config.general.enable_cost_tracking else None
                decoder = opened.decoder
                self.span.finish(
                    decoder.model, decoder.response_id, decoder.finish_reasons, usage, tracked
                )
            if error is not None:
                self.span.fail(error)
        finally:
            self.span.end()
