"""Pools of deployments, the strategy that picks one, and each deployment's breaker.

A deployment is one `[[models]]` entry (or a passthrough `provider/model`). Its state
is per process: in-flight count, a moving average of latency, a cooldown deadline
after a transient failure (then one half-open trial decides whether it returns), and
health as reported by probes. It also remembers, for a while, that an `openai/...`
deployment's upstream does not serve the Responses API (it speaks only chat
completions), so `/v1/responses` goes to it translated without asking again.
"""

from __future__ import annotations

import itertools
import logging
import random
from collections.abc import Awaitable, Callable, Iterable, Sequence

import msgspec

from ..clock import Clock
from ..config import ModelConfig
from ..config.schema import Strategy
from ..providers import Adapter, Target

__all__ = ["RESPONSES_MEMORY_SECS", "Deployment", "DeploymentState", "Router"]

log = logging.getLogger("literllm.routing.router")

_LATENCY_SMOOTHING = 0.2
RESPONSES_MEMORY_SECS = 600.0
"""How long a deployment found not to serve the Responses API is sent Responses
requests translated, before it is asked natively again (an upgraded upstream)."""


class DeploymentState(msgspec.Struct, frozen=True):
    """What `/health` and the admin API show for one deployment."""

    deployment: str
    model: str
    provider_model: str
    state: str
    cooldown_until: float | None
    in_flight: int
    latency_ms: float | None
    """A moving average of this process's successful attempts (None before one)."""
    healthy: bool
    """False while the health probe finds the deployment's endpoint down."""
    provider: str = ""
    health: str = "unknown"
    """`unhealthy` (probe failing, or cooling down), `healthy` (a request or a probe
    succeeded since start or the last cooldown), else `unknown`."""
    cooling_down: bool = False
    """Whether the deployment is in cooldown now (until `cooldown_until`)."""


class Deployment:
    def __init__(
        self,
        *,
        name: str,
        label: str,
        config: ModelConfig | None,
        target: Target,
        adapter: Adapter,
        timeout: float,
        weight: float = 1.0,
        missing_credential: str | None = None,
        credential: Callable[[], Awaitable[str]] | None = None,
    ) -> None:
        self.name = name
        self.label = label
        self.config = config
        self.target = target
        self.adapter = adapter
        self.timeout = timeout
        self.weight = weight
        self.missing_credential = missing_credential
        self.credential = credential
        self.provider_model = f"{target.provider}/{target.model}"
        self.endpoint = (target.provider, target.base_url)
        self.in_flight = 0
        self.latency: float | None = None
        self.probed_ok = False
        """The last health probe succeeded (health probes on)."""
        self.cooldown_until: float | None = None
        self.trial_running = False
        self.healthy = True
        self.no_responses_until: float | None = None
        """Until when (monotonic) the upstream is taken not to serve `/responses`."""

    def __repr__(self) -> str:
        return f"Deployment({self.label!r})"

    async def current_target(self) -> Target:
        """The target with a fresh credential, for providers whose credential expires
        (Vertex AI OAuth tokens, AWS credentials)."""
        if self.credential is None:
            return self.target
        return msgspec.structs.replace(self.target, api_key=await self.credential())


class Router:
    def __init__(
        self,
        pools: dict[str, list[Deployment]],
        *,
        strategy: Strategy,
        cooldown_secs: float | None,
        clock: Clock,
        rng: random.Random | None = None,
    ) -> None:
        self.pools = pools
        self.strategy = strategy
        self.cooldown_secs = cooldown_secs
        self._clock = clock
        self._rng = rng or random.Random()
        self._turns = {name: itertools.count() for name in pools}
        self.on_cooldown: Callable[[Deployment], None] | None = None
        """Called when a deployment enters cooldown (the proxy counts it in metrics)."""

    def deployments(self) -> Iterable[Deployment]:
        for pool in self.pools.values():
            yield from pool

    # -- picking ---------------------------------------------------------------

    def available(self, deployment: Deployment) -> bool:
        """May this deployment take a request now? (half-open: one trial at a time)"""
        if not deployment.healthy:
            return False
        until = deployment.cooldown_until
        if until is None:
            return True
        if self._clock.monotonic() < until:
            return False
        return not deployment.trial_running

    def pick(
        self,
        pool: Sequence[Deployment],
        exclude: set[Deployment] | frozenset[Deployment] = frozenset(),
        name: str | None = None,
    ) -> Deployment | None:
        candidates = [d for d in pool if d not in exclude and self.available(d)]
        if not candidates:
            return None
        if len(candidates) == 1:
            return candidates[0]
        if self.strategy == "least_busy":
            return min(candidates, key=lambda d: d.in_flight)
        if self.strategy == "lowest_latency":
            return min(candidates, key=lambda d: d.latency or 0.0)
        if self.strategy == "weighted":
            return self._rng.choices(candidates, weights=[d.weight for d in candidates])[0]
        turn = next(self._turns.setdefault(name or pool[0].name, itertools.count()))
        return candidates[turn % len(candidates)]

    def earliest_recovery(self, pool: Iterable[Deployment]) -> float | None:
        """Seconds until the first deployment of `pool` leaves its cooldown."""
        now = self._clock.monotonic()
        waits = [
            d.cooldown_until - now
            for d in pool
            if d.healthy and d.cooldown_until is not None and d.cooldown_until > now
        ]
        return max(0.0, min(waits)) if waits else None

    # -- outcomes --------------------------------------------------------------

    def started(self, deployment: Deployment) -> None:
        deployment.in_flight += 1
        if deployment.cooldown_until is not None:
            deployment.trial_running = True

    def succeeded(self, deployment: Deployment, latency: float) -> None:
        deployment.in_flight -= 1
        if deployment.cooldown_until is not None:
            log.info("deployment %s recovered: its half-open trial succeeded", deployment.label)
        deployment.cooldown_until = None
        deployment.trial_running = False
        previous = deployment.latency
        deployment.latency = (
            latency if previous is None else previous + _LATENCY_SMOOTHING * (latency - previous)
        )

    def failed(
        self, deployment: Deployment, *, transient: bool, retry_after: float | None = None
    ) -> bool:
        """Record a failed attempt; return whether the deployment entered cooldown."""
        deployment.in_flight -= 1
        deployment.trial_running = False
        if not transient or self.cooldown_secs is None:
            if not transient and deployment.cooldown_until is not None:
                # a non-transient answer still proves the deployment is reachable
                deployment.cooldown_until = None
            return False
        duration = max(float(self.cooldown_secs), retry_after or 0.0)
        deployment.cooldown_until = self._clock.monotonic() + duration
        log.warning(
            "deployment %s is cooling down for %g s after a transient failure (in flight: %d)",
            deployment.label,
            duration,
            deployment.in_flight,
        )
        if self.on_cooldown is not None:
            self.on_cooldown(deployment)
        return True

    def serves_responses(self, deployment: Deployment) -> bool:
        """Whether `deployment` may be sent the Responses API natively (it was not
        found lacking it in the last `RESPONSES_MEMORY_SECS`)."""
        until = deployment.no_responses_until
        return until is None or self._clock.monotonic() >= until

    def lacks_responses(self, deployment: Deployment, status: int) -> None:
        """Its upstream answered `status` (404, 405) to `POST .../responses`."""
        if self.serves_responses(deployment):
            log.info(
                "deployment %s does not serve the Responses API (its upstream answered %d): "
                "/v1/responses requests to it are translated to chat completions for %g s",
                deployment.label,
                status,
                RESPONSES_MEMORY_SECS,
            )
        deployment.no_responses_until = self._clock.monotonic() + RESPONSES_MEMORY_SECS

    def released(self, deployment: Deployment) -> None:
        """The attempt ended without a verdict (the client went away)."""
        deployment.in_flight -= 1
        deployment.trial_running = False

    def mark_endpoint(self, provider: str, base_url: str, healthy: bool) -> list[Deployment]:
        changed = []
        for deployment in self.deployments():
            if deployment.endpoint == (provider, base_url) and deployment.healthy != healthy:
                deployment.healthy = healthy
                changed.append(deployment)
        return changed

    # -- reporting -------------------------------------------------------------

    def state_of(self, deployment: Deployment) -> DeploymentState:
        now = self._clock.monotonic()
        until = deployment.cooldown_until
        if not deployment.healthy:
            state = "unhealthy"
        elif until is not None and now < until:
            state = "cooling_down"
        elif until is not None:
            state = "half_open"
        else:
            state = "healthy"
        wall_until = None
        if until is not None and now < until:
            wall_until = round(self._clock.time() + (until - now), 3)
        if state in ("unhealthy", "cooling_down"):
            health = "unhealthy"
        elif state == "healthy" and (deployment.latency is not None or deployment.probed_ok):
            health = "healthy"
        else:
            health = "unknown"
        return DeploymentState(
            deployment=deployment.label,
            model=deployment.name,
            provider_model=deployment.provider_model,
            state=state,
            cooldown_until=wall_until,
            in_flight=deployment.in_flight,
            latency_ms=None if deployment.latency is None else round(deployment.latency * 1000, 3),
            healthy=deployment.healthy,
            provider=deployment.target.provider,
            health=health,
            cooling_down=state == "cooling_down",
        )
