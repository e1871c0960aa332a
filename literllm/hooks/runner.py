"""Running hooks: which apply to a request, in what order, and what a failure does.

`HookSet` holds every registered hook (config and code) once per gateway; `select`
returns a per-request `Hooks` (or None when none apply, so the request path pays one
`is not None` test a point). Failures are contained here: `RequestRejected` passes
through; anything else becomes `HookFailedError` (500, reason logged) or is skipped per
the hook's `on_failure`; `on_complete`/`on_error` calls are queued (bounded) and run one
at a time by a background task, after the answer is on its way; their errors are only
logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Coroutine, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal

import msgspec

from ..auth import Caller
from ..clock import Clock
from ..errors import LiterLLMError
from ..outcome import Outcome
from ..results import ChatStream, Response
from ..types import Usage
from .base import (
    Completion,
    EndStream,
    HookFailedError,
    RequestContext,
    hook_name,
    never_suspends,
    points_of,
)

if TYPE_CHECKING:
    from .stream import Translation

__all__ = ["HookSet", "Hooks", "Registered"]

log = logging.getLogger("literllm.hooks")

OnFailure = Literal["fail", "skip"]
_MEMO_LIMIT = 4096
_QUEUE_LIMIT = 10_000
_PROTOCOLS = {"messages": "anthropic", "count_tokens": "anthropic", "responses": "responses"}
_decode = msgspec.json.decode
_encode = msgspec.json.Encoder().encode


class Registered:
    """One hook with where it applies and what its failure does."""

    __slots__ = ("hook", "inline", "keys", "kinds", "models", "name", "on_failure", "points")

    def __init__(
        self,
        hook: object,
        *,
        points: Iterable[str] | None = None,
        keys: Iterable[str] = (),
        models: Iterable[str] = (),
        on_failure: OnFailure = "fail",
    ) -> None:
        implemented = points_of(hook)
        chosen = list(points) if points else implemented
        missing = [p for p in chosen if p not in implemented]
        if not implemented or missing:
            raise TypeError(
                f"hook {hook_name(hook)!r} does not implement "
                + (", ".join(missing) if missing else "any hook point")
            )
        self.hook = hook
        self.name = hook_name(hook)
        self.points = frozenset(chosen)
        self.keys = frozenset(keys)
        self.models = frozenset(models)
        self.on_failure = on_failure
        kinds = getattr(hook, "kinds", None)
        self.kinds: frozenset[str] | None = frozenset(kinds) if kinds is not None else None
        logging_points = [p for p in ("on_complete", "on_error") if p in self.points]
        self.inline = (
            bool(logging_points)
            and not getattr(hook, "wants_response", False)
            and all(never_suspends(getattr(hook, p)) for p in logging_points)
        )

    def applies(self, key_names: tuple[str, ...], model: str) -> bool:
        if self.models and model not in self.models:
            return False
        return not self.keys or not self.keys.isdisjoint(key_names)


class _Calls:
    """The `on_error` and `on_complete` hooks of a plan that run one way (inline or
    queued)."""

    __slots__ = ("complete", "error", "wants_response")

    def __init__(self, complete: list[Registered], error: list[Registered]) -> None:
        self.complete = complete
        self.error = error
        self.wants_response = any(getattr(r.hook, "wants_response", False) for r in complete)


class _Plan:
    """The hooks of one (key, model), split by point."""

    __slots__ = ("after", "before", "inline", "queued", "stream")

    def __init__(self, chosen: list[Registered]) -> None:
        self.before = [r for r in chosen if "before_request" in r.points]
        self.after = [r for r in chosen if "after_response" in r.points]
        self.stream = [r for r in chosen if "on_stream_chunk" in r.points]
        complete = [r for r in chosen if "on_complete" in r.points]
        error = [r for r in chosen if "on_error" in r.points]
        self.inline = _Calls([r for r in complete if r.inline], [r for r in error if r.inline])
        self.queued = _Calls(
            [r for r in complete if not r.inline], [r for r in error if not r.inline]
        )


class HookSet:
    """Every hook of a gateway; build once, `select` per request."""

    def __init__(
        self,
        hooks: list[Registered],
        *,
        clock: Clock,
        estimate_tokens: Callable[[dict[str, Any]], int] | None = None,
    ) -> None:
        self.hooks = hooks
        self.clock = clock
        self.estimate_tokens = estimate_tokens
        self._plans: dict[tuple[str, str], _Plan | None] = {}
        self._queue: deque[_Finished] = deque()
        self._wake: asyncio.Future[None] | None = None
        self._drained: asyncio.Future[None] | None = None
        self._worker: asyncio.Task[None] | None = None
        self.dropped = 0

    def __bool__(self) -> bool:
        return bool(self.hooks)

    def select(
        self,
        caller: Caller,
        body: dict[str, Any],
        kind: str,
        headers: Mapping[str, str] | None,
    ) -> Hooks | None:
        """The hooks for this request, or None. A `keys` scope may name a key by its id,
        its description or the key itself; "master" is the master key."""
        model = body["model"]
        identity = caller.identity
        try:  # a hit costs no exception handling (and no `get` method call)
            plan = self._plans[identity, model]
        except KeyError:
            plan = self._plan(caller, model)
        if plan is None:
            return None
        ctx = RequestContext(
            body,
            kind,
            model,
            caller.description,
            identity,
            headers,
            _PROTOCOLS.get(kind, "openai"),
            body.get("stream") is True,
        )
        ctx._caller = caller
        return Hooks(self, plan, ctx)

    def _plan(self, caller: Caller, model: str) -> _Plan | None:
        """The hooks that apply to `caller` and `model` (remembered, up to a bound)."""
        secret = caller.key.key if caller.key is not None else "master"
        names = (caller.identity, caller.description, secret)
        chosen = [r for r in self.hooks if r.applies(names, model)]
        plan = _Plan(chosen) if chosen else None
        if len(self._plans) >= _MEMO_LIMIT:
            self._plans.clear()
        self._plans[caller.identity, model] = plan
        return plan

    async def start(self) -> None:
        for registered in self.hooks:
            start = getattr(registered.hook, "start", None)
            if start is not None:
                await start()

    async def drain(self) -> None:
        """Wait until every queued `on_complete` / `on_error` call has run."""
        while self._queue or self._busy():
            if self._drained is None or self._drained.done():
                self._drained = asyncio.get_running_loop().create_future()
            await asyncio.shield(self._drained)

    def _busy(self) -> bool:
        """Whether the worker is running a call (not asleep waiting for one)."""
        return self._worker is not None and (self._wake is None or self._wake.done())

    async def aclose(self) -> None:
        await self.drain()
        worker = self._worker
        if worker is not None:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        for registered in self.hooks:
            close = getattr(registered.hook, "aclose", None)
            if close is not None:
                try:
                    await close()
                except Exception:
                    log.exception("hook %s failed while closing", registered.name)
        if self.dropped:
            log.warning("%d on_complete calls were dropped (hooks too slow)", self.dropped)

    def enqueue(self, finished: _Finished) -> None:
        queue = self._queue
        if len(queue) >= _QUEUE_LIMIT:
            queue.popleft()
            self.dropped += 1
        queue.append(finished)
        wake = self._wake
        if wake is not None:
            if not wake.done():
                wake.set_result(None)
        elif self._worker is None:
            self._worker = asyncio.get_running_loop().create_task(self._work())

    async def _work(self) -> None:
        """Run the queued calls in order; asleep (one future) while there are none.
        Requests that finish in the same event-loop iteration share one wake-up."""
        queue = self._queue
        loop = asyncio.get_running_loop()
        try:
            while True:
                self._wake = None
                while queue:
                    await _notify(self, queue.popleft())
                self._wake = loop.create_future()
                drained = self._drained
                if drained is not None and not drained.done():
                    drained.set_result(None)
                await self._wake
        finally:  # cancelled (closing): a later call starts a new worker
            self._wake = self._worker = None
            drained = self._drained
            if drained is not None and not drained.done():
                drained.set_result(None)


class Hooks:
    """The hooks that apply to one request, bound to its `RequestContext`."""

    __slots__ = ("ctx", "final_response", "owner", "plan")

    def __init__(self, owner: HookSet, plan: _Plan, ctx: RequestContext) -> None:
        self.owner = owner
        self.plan = plan
        self.ctx = ctx
        self.final_response: dict[str, Any] | None = None
        """A native Responses stream's final Response object as the hooks left it
        (what to store, rather than the upstream's)."""

    def _failed(self, registered: Registered, point: str, error: Exception) -> None:
        """Log a hook's failure; raise `HookFailedError` unless it is to be skipped."""
        log.error(
            "hook %s failed in %s (%s: %s); %s",
            registered.name,
            point,
            type(error).__name__,
            error,
            "skipped" if registered.on_failure == "skip" else "the request fails with 500",
            exc_info=error,
        )
        if registered.on_failure == "fail":
            raise HookFailedError(
                f"the request could not be processed: hook {registered.name!r} failed in {point}"
            ) from None

    async def before_request(self, request: dict[str, Any]) -> dict[str, Any]:
        """Run `before_request` hooks; returns the (possibly replaced) request body."""
        ctx = self.ctx
        model = ctx.model
        for registered in self.plan.before:
            try:
                await registered.hook.before_request(ctx)  # type: ignore[attr-defined]
            except LiterLLMError:
                raise
            except Exception as error:
                self._failed(registered, "before_request", error)
            if not isinstance(ctx.body, dict) or ctx.body.get("model") != model:
                ctx.body = request
                self._failed(
                    registered,
                    "before_request",
                    ValueError("the hook replaced the body or changed its model"),
                )
            request = ctx.body
        return request

    async def after_response(self, response: Response) -> Response:
        """Run `after_response` hooks on the answer's JSON; re-encode only if any ran."""
        kind = self.ctx.kind
        chosen = [r for r in self.plan.after if r.kinds is None or kind in r.kinds]
        if not chosen:
            return response
        try:
            body = _decode(response.body)
        except msgspec.DecodeError:  # not JSON (audio bytes): nothing for these hooks
            return response
        if not isinstance(body, dict):
            return response
        for registered in chosen:
            try:
                await registered.hook.after_response(self.ctx, body)  # type: ignore[attr-defined]
            except LiterLLMError:
                raise
            except Exception as error:
                self._failed(registered, "after_response", error)
        return Response(_encode(body), response.headers, response.status)

    @property
    def streams(self) -> bool:
        """Whether `on_stream_chunk` hooks apply (a translated stream then defers its
        translation to `wrap_stream`)."""
        return bool(self.plan.stream)

    def wrap_stream(
        self,
        stream: ChatStream,
        translation: Translation | None = None,
        usage: Callable[[], Usage | None] | None = None,
    ) -> ChatStream:
        """`stream` through the `on_stream_chunk` hooks. `translation`: the stream
        carries chat chunks to be sent as another protocol's events; `usage`: the usage
        so far, for the ending of a native Anthropic stream."""
        if not self.plan.stream:
            return stream
        from .stream import filtered

        if translation is None and self.ctx.protocol == "anthropic":
            from .native_stream import native_messages

            batches = native_messages(self, stream, usage or (lambda: None))
            return ChatStream(batches, stream.headers, stream.aclose)
        if translation is None and self.ctx.protocol == "responses":
            from .native_responses import native_responses

            return ChatStream(native_responses(self, stream), stream.headers, stream.aclose)
        return ChatStream(filtered(self, stream, translation), stream.headers, stream.aclose)

    async def chunk(self, chunk: dict[str, Any]) -> list[dict[str, Any]]:
        """One upstream chunk through every stream hook, in order."""
        chunks = [chunk]
        for registered in self.plan.stream:
            passed: list[dict[str, Any]] = []
            for item in chunks:
                try:
                    out = await registered.hook.on_stream_chunk(self.ctx, item)  # type: ignore[attr-defined]
                except (LiterLLMError, EndStream):
                    raise
                except Exception as error:
                    self._failed(registered, "on_stream_chunk", error)
                    out = None
                passed.extend([item] if out is None else out)
            chunks = passed
        return chunks

    async def stream_end(self) -> list[dict[str, Any]]:
        """What stream hooks held back, released (and passed on through later hooks)."""
        released: list[dict[str, Any]] = []
        for index, registered in enumerate(self.plan.stream):
            end = getattr(registered.hook, "on_stream_end", None)
            if end is None:
                continue
            try:
                tail = await end(self.ctx)
            except (LiterLLMError, EndStream):
                raise
            except Exception as error:
                self._failed(registered, "on_stream_end", error)
                tail = []
            for item in tail:
                chunks = [item]
                for later in self.plan.stream[index + 1 :]:
                    chunks = [
                        out
                        for c in chunks
                        for out in (
                            await later.hook.on_stream_chunk(self.ctx, c)  # type: ignore[attr-defined]
                            or [c]
                        )
                    ]
                released.extend(chunks)
        return released

    def finish(self, outcome: Outcome, error: BaseException | None, body: bytes | None) -> None:
        """Run `on_error` / `on_complete`: at once for hooks that cannot suspend (their
        methods contain no `await`), queued for the background task for the others."""
        plan = self.plan
        inline, queued = plan.inline, plan.queued
        now = inline.complete or (error is not None and inline.error)
        later = queued.complete or (error is not None and queued.error)
        if not (now or later):
            return
        owner = self.owner
        ended = owner.clock.monotonic()
        if now:  # `_notify` for methods that never suspend, without a coroutine of its own
            ctx = self.ctx
            if error is not None:
                for registered in inline.error:
                    try:
                        _run(registered.hook.on_error(ctx, error))  # type: ignore[attr-defined]
                    except Exception:
                        log.exception("hook %s failed in on_error (ignored)", registered.name)
            if inline.complete:
                try:
                    completion = _completion(owner, inline, ctx, outcome, error, body, ended, ended)
                except Exception:
                    log.exception("could not describe a finished request for on_complete")
                    completion = None
                if completion is not None:
                    for registered in inline.complete:
                        try:
                            _run(registered.hook.on_complete(ctx, completion))  # type: ignore[attr-defined]
                        except Exception:
                            log.exception(
                                "hook %s failed in on_complete (ignored)", registered.name
                            )
        if later:
            owner.enqueue((queued, self.ctx, outcome, error, body, ended))


_Finished = tuple[_Calls, RequestContext, Outcome, BaseException | None, bytes | None, float]


def _completion(
    owner: HookSet,
    plan: _Calls,
    ctx: RequestContext,
    outcome: Outcome,
    error: BaseException | None,
    body: bytes | None,
    ended: float,
    now: float,
) -> Completion:
    """`now`: the monotonic clock about now (`ended` when called as the request ends)."""
    latency = ended - outcome.started
    return Completion(
        kind=ctx.kind,
        model=ctx.model,
        key=ctx.key,
        key_id=ctx.key_id,
        status=outcome.status,
        latency=latency if latency > 0.0 else 0.0,
        started_at=owner.clock.time() - (now - outcome.started),
        stream=ctx.stream,
        usage=outcome.usage,
        cost=outcome.cost,
        deployment=outcome.deployment,
        provider_model=outcome.provider_model,
        cache=outcome.cache,
        error=str(error) if error is not None else None,
        response=_json_object(body) if body is not None and plan.wants_response else None,
    )


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        value = _decode(body)
    except msgspec.DecodeError:
        return None
    return value if isinstance(value, dict) else None


def _run(call: Coroutine[Any, Any, None]) -> None:
    """Run a call that cannot suspend (see `never_suspends`) to its end. Iterating
    its awaitable ends without raising `StopIteration` (which `send` would raise and
    the caller would have to catch: about 1,300 instructions a call)."""
    for _ in call.__await__():
        call.close()  # unreachable: its method has no await
        raise RuntimeError("an inline hook call suspended")


async def _notify(owner: HookSet, finished: _Finished) -> None:
    plan, ctx, outcome, error, body, ended = finished
    if error is not None:
        for registered in plan.error:
            try:
                await registered.hook.on_error(ctx, error)  # type: ignore[attr-defined]
            except Exception:
                log.exception("hook %s failed in on_error (ignored)", registered.name)
    if not plan.complete:
        return
    try:
        completion = _completion(
            owner, plan, ctx, outcome, error, body, ended, owner.clock.monotonic()
        )
    except Exception:
        log.exception("could not describe a finished request for on_complete")
        return
    for registered in plan.complete:
        try:
            await registered.hook.on_complete(ctx, completion)  # type: ignore[attr-defined]
        except Exception:
            log.exception("hook %s failed in on_complete (ignored)", registered.name)
