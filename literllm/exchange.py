"""One request's journey: admit, look in the cache, dispatch, settle, record.

`Exchange` holds everything a request touches (the gateway's `Services`, the caller, the
decoded body, its `Outcome`) so that the non-streaming and streaming paths share one
admission, one settlement, one span and one metrics record.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .auth import Caller
from .errors import (
    BudgetExceededError,
    GatewayTimeoutError,
    LiterLLMError,
    RateLimitError,
    UpstreamError,
)
from .governance.endusers import end_user_of
from .governance.ratelimit import estimate_prompt_tokens, estimate_request_tokens
from .observability.telemetry import error_type_of
from .operations.base import OperationResult
from .outcome import Outcome
from .providers import ChatResult
from .providers.openai_shape import embeddings_as_base64
from .results import ChatStream, Response
from .routing.dispatch import AttemptLog
from .routing.inbound import Inbound, TranslatedStream
from .routing.router import Deployment
from .routing.streaming import OpenedStream, open_chat_stream
from .types import Usage

if TYPE_CHECKING:
    from .governance.governor import Admission
    from .hooks import Hooks
    from .observability.telemetry import RequestSpan
    from .operations import Operation
    from .services import Services
    from .state.base import HashRecord

__all__ = ["Exchange", "cache_policy"]


def cache_policy(headers: Mapping[str, str] | None) -> tuple[bool, bool]:
    """(may read, may write) from the client's `Cache-Control`."""
    value = headers.get("cache-control") if headers else None
    if not value:
        return True, True
    directives = {d.strip().lower() for d in value.split(",")}
    return "no-cache" not in directives, "no-store" not in directives


class Exchange:
    __slots__ = (
        "admission",
        "caller",
        "deadline",
        "headers",
        "hooks",
        "inbound",
        "kind",
        "log",
        "model",
        "operation",
        "outcome",
        "prompt_tokens",
        "request",
        "services",
        "settle_record",
        "span",
    )

    def __init__(
        self,
        services: Services,
        caller: Caller,
        request: dict[str, Any],
        kind: str,
        headers: Mapping[str, str] | None,
        outcome: Outcome | None,
        inbound: Inbound | None = None,
        operation: Operation | None = None,
    ) -> None:
        """`inbound`: the protocol the client spoke when not chat completions (its
        requests and answers are built per attempt). `operation`: an endpoint besides
        chat and embeddings (`kind` is its name)."""
        self.services = services
        self.caller = caller
        self.request = request
        self.operation = operation
        # A batch line: its result, written atomically with its spend (body, cost).
        self.settle_record: Callable[[bytes, float], HashRecord] | None = None
        self.kind = kind
        self.model: str = request["model"]
        estimated = operation.estimated_tokens(request) if operation is not None else None
        self.prompt_tokens = estimated if estimated is not None else estimate_prompt_tokens(request)
        self.deadline = services.clock.monotonic() + services.config.server.request_timeout_secs
        self.headers = headers
        self.inbound = inbound
        self.log = AttemptLog()
        self.admission: Admission | None = None
        self.outcome = outcome if outcome is not None else Outcome(services.clock.monotonic())
        self.outcome.model = self.model
        self.outcome.key = caller.description
        self.outcome.key_id = caller.identity
        self.span: RequestSpan = services.telemetry.start_request(
            operation="chat" if inbound is not None else kind,  # GenAI semconv name
            request_model=self.model,
            params=request,
            traceparent=headers.get("traceparent") if headers else None,
            tracestate=headers.get("tracestate") if headers else None,
        )
        services.metrics.request_started(self.model)
        # hooks: which apply to this request (None when none do)
        self.hooks: Hooks | None = (
            services.hooks.select(caller, request, kind, headers)
            if services.hooks is not None
            else None
        )

    # -- shared steps -------------------------------------------------------------------

    async def _admit(self) -> Admission:
        governor = self.services.governor
        admission = await governor.admit(
            key=None if self.caller.is_master else self.caller.key,
            model=self.model,
            estimated_tokens=estimate_request_tokens(
                self.request, prompt_tokens=self.prompt_tokens, generates=self.inbound is not None
            ),
            prompt_tokens=self.prompt_tokens,
        )
        admission.end_user = end_user_of(self.request)
        self.admission = admission
        return admission

    async def _reserve(self, deployment: Deployment) -> None:
        assert self.admission is not None
        governor = self.services.governor
        pm = deployment.provider_model
        request = self.request
        requested = (
            request.get("max_completion_tokens")
            or request.get("max_tokens")
            or request.get("max_output_tokens")  # Responses
        )
        cap = governor.output_cap(pm, requested if isinstance(requested, int) else None)
        # A call priced by unit (images, characters, pages) holds its price up front.
        unit_cost = (
            self.operation.unit_cost(pm, self.request, OperationResult(body=b""))
            if self.operation is not None
            else None
        )
        await self.admission.reserve(
            provider_model=pm,
            max_cost=(
                unit_cost
                if unit_cost is not None
                else governor.estimate_max_cost(pm, self.prompt_tokens, cap)
            ),
        )

    def _headers(self, cost: float | None) -> dict[str, str]:
        headers = dict(self.admission.headers) if self.admission else {}
        deployment = self.log.deployment
        if deployment is not None:
            headers["x-literllm-route"] = deployment.label
            headers["x-literllm-provider-model"] = deployment.provider_model
            headers["x-literllm-attempts"] = str(self.log.attempts)
        if cost is not None and self.services.config.general.enable_cost_tracking:
            headers["x-literllm-response-cost"] = f"{cost:.10f}".rstrip("0").rstrip(".") or "0"
        return headers

    def _finish(self, error: BaseException | None, body: bytes | None = None) -> None:
        """Close the books on this request: span, metrics, outcome."""
        outcome = self.outcome
        metrics = self.services.metrics
        deployment = self.log.deployment
        if deployment is not None:
            outcome.deployment = deployment.label
            outcome.provider_model = deployment.provider_model
            outcome.route = deployment.name
        if error is not None:
            self.span.fail(error)
            outcome.status = error.status if isinstance(error, LiterLLMError) else 500
            outcome.error_type = error_type_of(error)
            if isinstance(error, RateLimitError):
                metrics.rate_limit_refusal(
                    self.caller.description, self._limit_scope(), _limit_kind(error)
                )
            elif isinstance(error, BudgetExceededError):
                metrics.budget_refusal(self.caller.description, "any")
        self.span.end()
        if self.log.retries:
            for _ in range(self.log.retries):
                metrics.retry(self.model, outcome.deployment or "-")
        if self.log.fallbacks and outcome.route:
            metrics.fallback(self.model, outcome.route)
        metrics.request_finished(self.model)
        metrics.operation_finished(self.kind, outcome.status)
        if self.hooks is not None:  # hooks: on_complete, on_error
            self.hooks.finish(outcome, error, body)
        metrics.observe_request(
            model=self.model,
            deployment=outcome.deployment or "-",
            key=outcome.key or "-",
            status=outcome.status,
            duration=self.services.clock.monotonic() - outcome.started,
            upstream=outcome.upstream_seconds,
            usage=outcome.usage,
            cost=outcome.cost,
        )

    def _limit_scope(self) -> str:
        key = self.caller.key
        return "key" if key is not None and (key.rpm or key.tpm) else "global"

    def attempt_timeout(self, deployment: Deployment) -> float:
        """The deployment's timeout, cut to what is left of `request_timeout_secs`."""
        remaining = self.deadline - self.services.clock.monotonic()
        if remaining <= 0:
            raise self._request_timeout()
        return min(deployment.timeout, remaining)

    def _deadline_error(
        self, error: UpstreamError, timeout: float, deployment: Deployment
    ) -> LiterLLMError:
        """An attempt cut short by the request's deadline ends the request (504)."""
        if error.status == 504 and timeout < deployment.timeout:
            return self._request_timeout()
        return error

    def _request_timeout(self) -> GatewayTimeoutError:
        limit = self.services.config.server.request_timeout_secs
        return GatewayTimeoutError(
            f"the request took longer than request_timeout_secs ({limit} s)",
            code="request_timeout",
        )

    # -- non-streaming ---------------------------------------------------------------

    async def complete(self) -> Response:
        error: BaseException | None = None
        response: Response | None = None
        try:
            if self.hooks is not None and self.hooks.plan.before:  # hooks: before_request
                self._hooked(await self.hooks.before_request(self.request))
            response = await self._complete()
            hooks = self.hooks
            if hooks is not None and hooks.plan.after and self.settle_record is None:
                response = await hooks.after_response(response)  # hooks: after_response
            return response
        except BaseException as exc:
            error = exc
            raise
        finally:
            if self.admission is not None:
                await self.admission.release()
            self._finish(error, response.body if response is not None and error is None else None)

    def _hooked(self, request: dict[str, Any]) -> None:
        """The request as `before_request` hooks left it (limits keep the estimate of
        what the client sent; settlement counts what the provider reports)."""
        self.request = request

    async def _complete(self) -> Response:
        services = self.services
        admission = await self._admit()
        cache = services.cache
        if self.operation is not None and not self.operation.cacheable:
            cache = None
        cache_key: str | None = None
        may_write = False
        if cache is not None and (self.inbound is None or self.inbound.cacheable):
            may_read, may_write = cache_policy(self.headers)
            cache_key = cache.key(
                endpoint=self.kind, model=self.model, body=self.request, caller=self.caller.identity
            )
            if may_read:
                cached = await cache.get(cache_key)
                if cached is not None:
                    return await self._cache_hit(admission, cached)
                services.metrics.cache_miss(self.model)
            self.outcome.cache = "miss" if may_read else "bypass"

        routes = services.resolver.routes(self.model)
        result = await services.dispatcher.run(self.model, routes, self._attempt, self.log)
        deployment = self.log.deployment
        assert deployment is not None
        answer, line, refused = result.body, self.settle_record, None
        if line is not None and self.hooks is not None:  # hooks: a batch line's answer
            answer, line, refused = await self._line_answer(answer)
        cost = await admission.settle(
            provider_model=deployment.provider_model,
            usage=result.usage,
            cost=result.cost if isinstance(result, OperationResult) else None,
            record=(lambda c: line(answer, c)) if line is not None else None,
        )
        tracked = cost if services.config.general.enable_cost_tracking else None
        self.outcome.usage = result.usage
        self.outcome.cost = cost
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
        if refused is not None:
            raise refused
        headers = self._headers(cost)
        if self.outcome.cache is not None:
            headers["x-literllm-cache"] = self.outcome.cache
        if isinstance(result, OperationResult):
            return Response(answer, headers, content_type=result.content_type)
        return Response(answer, headers)

    async def _line_answer(
        self, body: bytes
    ) -> tuple[bytes, Callable[[bytes, float], HashRecord] | None, LiterLLMError | None]:
        """A batch line's record is written with its spend, so `after_response` hooks
        run on it before settlement: (the answer as they left it, the record to write,
        their refusal). A refused line writes no record here (its error is written by
        the batch) and is charged, like any answer refused after it came."""
        line = self.settle_record
        assert line is not None and self.hooks is not None
        try:
            return (await self.hooks.after_response(Response(body, {}))).body, line, None
        except LiterLLMError as refused:
            return body, None, refused

    async def _cache_hit(self, admission: Admission, cached: bytes) -> Response:
        self.span.cache_hit()
        self.services.metrics.cache_hit(self.model)
        answer, line, refused = cached, self.settle_record, None
        if line is not None and self.hooks is not None:  # hooks: a batch line's answer
            answer, line, refused = await self._line_answer(answer)
        await admission.settle(
            provider_model=None,
            usage=None,
            record=(lambda c: line(answer, c)) if line is not None else None,
        )
        self.outcome.cache = "hit"
        self.outcome.cost = 0.0
        if refused is not None:
            raise refused
        headers = self._headers(0.0)
        headers["x-literllm-cache"] = "hit"
        return Response(answer, headers)

    async def _attempt(self, deployment: Deployment) -> ChatResult:
        await self._reserve(deployment)
        target = deployment.target
        if deployment.credential is not None:
            target = await deployment.current_target()
        adapter = deployment.adapter
        clock = self.services.clock
        with self.span.attempt(
            target.provider,
            deployment.provider_model,
            deployment.label,
            fallback=deployment.name != self.model,
        ) as attempt:
            operation = self.operation
            inbound = self.inbound
            if inbound is not None:
                inbound.begin(deployment)
                upstream = inbound.request(adapter, target, stream=False)
            elif operation is not None:
                upstream = operation.request(adapter, target, dict(self.request), stream=False)
            elif self.kind == "chat":
                upstream = adapter.chat_request(target, dict(self.request), stream=False)
            else:
                upstream = adapter.embeddings_request(target, dict(self.request))
            while True:
                sent = clock.monotonic()
                timeout = self.attempt_timeout(deployment)
                try:
                    response = await self.services.transport.send(upstream, timeout=timeout)
                except UpstreamError as error:
                    raise self._deadline_error(error, timeout, deployment) from None
                finally:
                    self.outcome.upstream_seconds = (
                        (self.outcome.upstream_seconds or 0.0) + clock.monotonic() - sent
                    )
                attempt.status_code(response.status)
                # an inbound protocol may ask once more in another form (same attempt)
                if response.status < 400 or inbound is None:
                    break
                if not inbound.retry(deployment, target, response.status):
                    break
                upstream = inbound.request(adapter, target, stream=False)
            if response.status >= 400:
                raise adapter.error(target, response.status, response.headers, response.body)
            if inbound is not None:
                return inbound.result(adapter, target, response)
            if operation is not None:
                result = operation.response(adapter, target, response, self.request)
                result.cost = operation.unit_cost(deployment.provider_model, self.request, result)
                return result
            if self.kind == "chat":
                return adapter.chat_response(target, response)
            embedded = adapter.embeddings_response(target, response)
            body = embedded.body
            if self.request.get("encoding_format") == "base64" and not adapter.base64_embeddings:
                body = embeddings_as_base64(body)
            return ChatResult(body=body, usage=embedded.usage, model=embedded.model)

    # -- streaming ---------------------------------------------------------------------

    async def stream(self) -> ChatStream:
        self.outcome.stream = True
        try:
            hooks = self.hooks
            if hooks is not None:  # hooks: before_request
                if hooks.plan.before:
                    self._hooked(await hooks.before_request(self.request))
                if self.inbound is not None and hooks.streams:
                    self.inbound.defer_translation = True  # the hooks see chat chunks
            stream = await self._stream()
            if hooks is not None:  # hooks: on_stream_chunk
                stream = self._hooked_stream(hooks, stream)
            return stream
        except BaseException as error:
            if self.admission is not None:
                await self.admission.release()
            self._finish(error)
            raise

    def _hooked_stream(self, hooks: Hooks, stream: ChatStream) -> ChatStream:
        opened = self.inbound.opened if self.inbound is not None else None
        if isinstance(opened, TranslatedStream):
            return hooks.wrap_stream(stream, opened)
        return hooks.wrap_stream(stream, usage=lambda: opened.usage if opened else None)

    async def _stream(self) -> ChatStream:
        services = self.services
        await self._admit()
        options = self.request.get("stream_options")
        include_usage = isinstance(options, dict) and bool(options.get("include_usage"))
        include_usage = include_usage or self.inbound is not None
        routes = services.resolver.routes(self.model)
        started = services.clock.monotonic()
        stream = await open_chat_stream(
            services.dispatcher,
            services.transport,
            self.model,
            routes,
            self.request,
            include_usage=include_usage,
            log=self.log,
            headers=lambda _log: self._headers(None),
            on_done=self._stream_done,
            before_attempt=self._reserve,
            timeout_for=self.attempt_timeout,
            inbound=self.inbound,
            operation=self.operation,
            time_left=lambda: self.deadline - services.clock.monotonic(),
            on_deadline=self._request_timeout,
        )
        first = services.clock.monotonic() - started
        self.span.first_chunk(first)
        deployment = self.log.deployment
        services.metrics.time_to_first_token(
            self.model, deployment.label if deployment else "-", first
        )
        self.outcome.upstream_seconds = first
        return stream

    async def _stream_done(self, opened: OpenedStream, error: BaseException | None) -> None:
        usage = opened.usage
        if usage is None:
            # Cut short before the provider reported usage: about one token a chunk.
            prompt = self.prompt_tokens
            completion = opened.streamed_chunks
            usage = Usage(
                prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion
            )
        try:
            if self.admission is not None:
                provider_model = opened.deployment.provider_model
                unit_cost = (
                    self.operation.unit_cost(
                        provider_model, self.request, OperationResult(body=b"", usage=usage)
                    )
                    if self.operation is not None
                    else None
                )
                cost = await self.admission.settle(
                    provider_model=provider_model, usage=usage, cost=unit_cost
                )
                tracked = cost if self.services.config.general.enable_cost_tracking else None
                self.outcome.usage = usage
                self.outcome.cost = cost
                decoder = opened.decoder
                self.span.finish(
                    decoder.model, decoder.response_id, decoder.finish_reasons, usage, tracked
                )
        finally:
            self.outcome.upstream_seconds = self.services.clock.monotonic() - self.outcome.started
            self._finish(error)


def _limit_kind(error: RateLimitError) -> str:
    return "rpm" if error.headers.get("x-ratelimit-remaining-requests") == "0" else "tpm"
