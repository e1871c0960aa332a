"""Health probes: every `interval_secs`, a one-token request to each deployment of
`probe_model`.

A probe that cannot connect, times out or gets a 5xx marks every deployment sharing
that provider endpoint (provider and base URL) unhealthy until a probe succeeds; any
other answer (including 4xx and 429) proves the endpoint is up. Probes go straight to
the transport, so they never count against keys, rate limits or budgets.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from ..clock import Clock
from ..errors import LiterLLMError, UpstreamError
from ..transport.base import Transport
from .resolve import Resolver
from .router import Deployment, Router

__all__ = ["HealthProber"]

log = logging.getLogger("literllm.routing.health")

_PROBE_BODY: dict[str, Any] = {"messages": [{"role": "user", "content": "ping"}], "max_tokens": 1}


class HealthProber:
    def __init__(
        self,
        *,
        probe_model: str,
        interval: float,
        resolver: Resolver,
        router: Router,
        transport: Transport,
        clock: Clock,
    ) -> None:
        self.probe_model = probe_model
        self.interval = interval
        self._resolver = resolver
        self._router = router
        self._transport = transport
        self._clock = clock
        self.last_results: dict[str, bool] = {}

    async def probe_once(self) -> dict[str, bool]:
        """Probe each deployment of `probe_model` once; return label -> healthy."""
        try:
            pool = self._resolver.pool(self.probe_model)
        except LiterLLMError as error:
            log.warning(
                "health probe model %r cannot be resolved: %s", self.probe_model, error.message
            )
            return {}
        results = await asyncio.gather(*(self._probe(d) for d in pool))
        self.last_results = dict(zip((d.label for d in pool), results, strict=True))
        return self.last_results

    async def _probe(self, deployment: Deployment) -> bool:
        target = await deployment.current_target()
        request = deployment.adapter.chat_request(target, dict(_PROBE_BODY), stream=False)
        healthy = True
        reason = ""
        try:
            response = await self._transport.send(request, timeout=deployment.timeout)
            if response.status >= 500:
                healthy, reason = False, f"status {response.status}"
        except UpstreamError as error:
            healthy, reason = False, error.message
        deployment.probed_ok = healthy
        changed = self._router.mark_endpoint(target.provider, target.base_url, healthy)
        if deployment.healthy != healthy and deployment not in changed:
            deployment.healthy = healthy
            changed.append(deployment)
        for item in changed:
            if healthy:
                log.info("deployment %s is healthy again (probe succeeded)", item.label)
            else:
                log.warning(
                    "deployment %s marked unhealthy: probe of %s failed (%s)",
                    item.label,
                    deployment.label,
                    reason,
                )
        return healthy

    async def run(self) -> None:
        """Probe forever, every `interval` seconds on the injected clock."""
        while True:
            try:
                await self.probe_once()
            except Exception:
                log.exception("health probe failed unexpectedly")
            await self._clock.sleep(self.interval)
