"""The attempt loop: pick a deployment, send, and on a transient failure try the next.

Each route (the requested pool, then each fallback pool in order) gets up to
`1 + max_retries` attempts. A failed deployment is not picked again by the same request
while another deployment of its pool is available; with `[cooldown]` it gets no traffic
from anyone until its cooldown ends. Moving to another deployment or route happens at
once; trying the same deployment again waits an exponential backoff with jitter, or
the provider's `Retry-After` (capped). Streams are retried only until their first
chunk is in hand.
"""

from __future__ import annotations

import math
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from ..clock import Clock
from ..config import Config
from ..errors import LiterLLMError, MissingCredentialError, ServiceUnavailableError, UpstreamError
from .resolve import Route
from .router import Deployment, Router

__all__ = ["AttemptLog", "Dispatcher"]

_NONE: frozenset[Deployment] = frozenset()

T = TypeVar("T")
Attempt = Callable[[Deployment], Awaitable[T]]
AttemptHook = Callable[[Deployment, str, BaseException | None], None]


class AttemptLog:
    """What happened to one request's attempts (for headers, logs and metrics)."""

    __slots__ = ("attempts", "deployment", "fallbacks", "retries", "route")

    def __init__(self) -> None:
        self.attempts = 0
        self.retries = 0
        self.fallbacks = 0
        self.route: str | None = None
        self.deployment: Deployment | None = None


class Dispatcher:
    def __init__(
        self, config: Config, router: Router, clock: Clock, rng: random.Random | None = None
    ) -> None:
        self._router = router
        self._clock = clock
        self._rng = rng or random.Random()
        self._max_retries = config.general.max_retries
        self._base = config.routing.backoff_base_secs
        self._cap = config.routing.backoff_max_secs
        self._retry_after_cap = config.routing.retry_after_max_secs
        self.on_attempt: AttemptHook | None = None

    @property
    def router(self) -> Router:
        return self._router

    async def run(self, model: str, routes: list[Route], attempt: Attempt[T], log: AttemptLog) -> T:
        router = self._router
        last_error: LiterLLMError | None = None
        for route_index, (name, pool) in enumerate(routes):
            unusable = self._unusable(pool)
            if unusable:
                first = next(iter(unusable))
                last_error = MissingCredentialError(first.missing_credential or "")
            tried: set[Deployment] = set(unusable)
            failures = 0
            while failures <= self._max_retries:
                deployment = router.pick(pool, tried, name)
                if (
                    deployment is None
                    and len(tried) > len(unusable)
                    and router.cooldown_secs is None
                ):
                    deployment = router.pick(pool, unusable, name)
                    if deployment is not None:
                        await self._backoff(failures, last_error)
                if deployment is None:
                    break
                if route_index and log.route != name:
                    log.fallbacks += 1
                if log.attempts:
                    log.retries += 1
                log.attempts += 1
                log.route = name
                log.deployment = deployment
                router.started(deployment)
                started = self._clock.monotonic()
                try:
                    result = await attempt(deployment)
                except UpstreamError as exc:
                    router.failed(deployment, transient=exc.retryable, retry_after=exc.retry_after)
                    self._notify(deployment, "failed", exc)
                    if not exc.retryable:
                        raise
                    last_error = exc
                    tried.add(deployment)
                    failures += 1
                    continue
                except BaseException as exc:
                    router.released(deployment)
                    self._notify(deployment, "aborted", exc)
                    raise
                router.succeeded(deployment, self._clock.monotonic() - started)
                self._notify(deployment, "succeeded", None)
                return result
        if last_error is not None:
            raise last_error
        raise self._all_cooling(model, routes)

    @staticmethod
    def _unusable(pool: list[Deployment]) -> frozenset[Deployment]:
        """Deployments of `pool` that lack a credential (usually none)."""
        for deployment in pool:
            if deployment.missing_credential is not None:
                return frozenset(d for d in pool if d.missing_credential is not None)
        return _NONE

    def _notify(self, deployment: Deployment, outcome: str, error: BaseException | None) -> None:
        if self.on_attempt is not None:
            self.on_attempt(deployment, outcome, error)

    async def _backoff(self, failures: int, error: LiterLLMError | None) -> None:
        retry_after = error.retry_after if isinstance(error, UpstreamError) else None
        if retry_after is not None:
            delay = min(retry_after, self._retry_after_cap)
        else:
            ceiling = min(self._cap, self._base * (2 ** max(0, failures - 1)))
            delay = ceiling * (0.5 + 0.5 * self._rng.random())
        if delay > 0:
            await self._clock.sleep(delay)

    def _all_cooling(self, model: str, routes: list[Route]) -> ServiceUnavailableError:
        waits = [w for _, pool in routes if (w := self._router.earliest_recovery(pool)) is not None]
        if waits:
            wait = max(1, math.ceil(min(waits)))
            return ServiceUnavailableError(
                f"every deployment that can serve model {model!r} is cooling down after "
                f"failures; retry in {wait} s",
                code="all_deployments_cooling_down",
                headers={"retry-after": str(wait)},
            )
        return ServiceUnavailableError(
            f"no healthy deployment can serve model {model!r} right now (health probes "
            "report its providers down)",
            code="no_healthy_deployment",
        )
