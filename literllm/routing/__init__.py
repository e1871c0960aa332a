"""Where a request goes: resolve the client's model to pools of deployments, pick one
(strategy, cooldown, health), run attempts with retries and fallbacks, open streams."""

from .dispatch import AttemptLog, Dispatcher
from .health import HealthProber
from .resolve import Resolver, Route
from .router import Deployment, Router

__all__ = ["AttemptLog", "Deployment", "Dispatcher", "HealthProber", "Resolver", "Route", "Router"]
