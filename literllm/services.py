"""The parts of a gateway one request uses, bundled once by `Proxy`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .clock import Clock
from .config import Config
from .governance import Governor
from .observability.telemetry import Telemetry
from .routing import Dispatcher, Resolver
from .transport import Transport

if TYPE_CHECKING:  # built when a Proxy is: OpenDAL and prometheus_client are slow to import
    from .hooks import HookSet
    from .observability.metrics import Metrics
    from .storage.cache import ResponseCache

__all__ = ["Services"]


@dataclass(frozen=True, slots=True)
class Services:
    """What an `Exchange` may touch; the `Proxy` keeps everything else to itself."""

    config: Config
    clock: Clock
    governor: Governor
    cache: ResponseCache | None
    resolver: Resolver
    dispatcher: Dispatcher
    transport: Transport
    metrics: Metrics
    telemetry: Telemetry
    hooks: HookSet | None = None
