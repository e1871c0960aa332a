"""Typed structs for every table of `liter-llm-proxy.toml`, with the documented defaults.

Every struct forbids unknown fields. Tables marked "extension" are ours, not the
reference's; docs/configuration.md describes them.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta, Struct, field

U16 = Annotated[int, Meta(ge=0, le=65535)]
U32 = Annotated[int, Meta(ge=0, le=4_294_967_295)]
U64 = Annotated[int, Meta(ge=0, le=9_223_372_036_854_775_807)]
NonNegativeFloat = Annotated[float, Meta(ge=0)]
OptionValue = str | int | float | bool

__all__ = [
    "AliasConfig",
    "BatchesConfig",
    "BudgetConfig",
    "CacheConfig",
    "Config",
    "CooldownConfig",
    "FilesConfig",
    "GeneralConfig",
    "HealthConfig",
    "KeyConfig",
    "ModelConfig",
    "RateLimitConfig",
    "RoutingConfig",
    "ServerConfig",
    "StateConfig",
    "Strategy",
]


Strategy = Literal["round_robin", "least_busy", "lowest_latency", "weighted"]
"""How `[routing] strategy` picks a deployment of a pool."""


class _Table(Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    pass


class ServerConfig(_Table, frozen=True):
    host: str = "0.0.0.0"
    port: U16 = 4000
    request_timeout_secs: U64 = 600
    body_limit_bytes: U64 = 10_485_760
    cors_origins: list[str] = field(default_factory=lambda: ["*"])
    # Extensions: slow clients (docs/deployment.md, "Limits").
    header_timeout_secs: Annotated[float, Meta(gt=0)] = 10.0
    read_timeout_secs: Annotated[float, Meta(gt=0)] = 30.0
    max_connections: Annotated[int, Meta(ge=1, le=1_000_000)] = 10_000
    shutdown_grace_secs: Annotated[float, Meta(ge=0)] = 30.0


class GeneralConfig(_Table, frozen=True):
    master_key: str | None = None
    default_timeout_secs: U64 = 120
    max_retries: U32 = 3
    enable_cost_tracking: bool = False
    enable_tracing: bool = False


class ModelConfig(_Table, frozen=True):
    name: str
    provider_model: str
    api_key: str | None = None
    base_url: str | None = None
    timeout_secs: U64 | None = None
    fallbacks: list[str] = field(default_factory=list)
    # extension: relative share of traffic under `[routing] strategy = "weighted"`
    weight: Annotated[float, Meta(gt=0)] = 1.0

    @property
    def provider(self) -> str:
        return self.provider_model.split("/", 1)[0]

    @property
    def model_id(self) -> str:
        head, _, tail = self.provider_model.partition("/")
        return tail or head


class AliasConfig(_Table, frozen=True):
    pattern: str
    api_key: str | None = None
    base_url: str | None = None


class KeyConfig(_Table, frozen=True):
    key: str
    description: str | None = None
    models: list[str] = field(default_factory=list)
    rpm: U32 | None = None
    tpm: U64 | None = None
    budget_limit: NonNegativeFloat | None = None


class RateLimitConfig(_Table, frozen=True):
    rpm: U32 | None = None
    tpm: U64 | None = None


class BudgetConfig(_Table, frozen=True):
    global_limit: NonNegativeFloat | None = None
    model_limits: dict[str, NonNegativeFloat] = field(default_factory=dict)
    enforcement: Literal["hard", "soft"] = "hard"


class CacheConfig(_Table, frozen=True):
    max_entries: U64 | None = None
    ttl_seconds: U64 | None = None
    backend: str = "memory"
    backend_config: dict[str, OptionValue] = field(default_factory=dict)


class FilesConfig(_Table, frozen=True):
    backend: str = "memory"
    prefix: str = "liter-llm-files/"
    backend_config: dict[str, OptionValue] = field(default_factory=dict)
    # Extensions: 0 means no limit.
    max_file_bytes: U64 = 104_857_600
    max_bytes_per_key: U64 = 536_870_912


class HealthConfig(_Table, frozen=True):
    interval_secs: U64 | None = None
    probe_model: str | None = None


class CooldownConfig(_Table, frozen=True):
    duration_secs: U64


class RoutingConfig(_Table, frozen=True):
    """Extension: how a pool picks a deployment, and retry backoff bounds."""

    strategy: Strategy = "round_robin"
    backoff_base_secs: NonNegativeFloat = 0.5
    backoff_max_secs: NonNegativeFloat = 8.0
    retry_after_max_secs: NonNegativeFloat = 30.0


class StateConfig(_Table, frozen=True):
    """Extension: where rate-limit windows, reservations and spend live."""

    backend: Literal["memory", "sqlite", "redis"] = "memory"
    backend_config: dict[str, OptionValue] = field(default_factory=dict)
    fail_open: bool = False


class BatchesConfig(_Table, frozen=True):
    """Extension: batches the gateway runs itself (`/v1/batches`)."""

    concurrency: Annotated[int, Meta(ge=1, le=256)] = 4
    """Lines of all batches this process runs at once."""
    yield_to_live: Annotated[int, Meta(ge=0)] = 32
    """Live requests in flight above which batch lines wait (0: never wait)."""
    poll_interval_secs: Annotated[float, Meta(gt=0, le=60)] = 1.0


class Config(_Table, frozen=True):
    server: ServerConfig = field(default_factory=ServerConfig)
    general: GeneralConfig = field(default_factory=GeneralConfig)
    models: list[ModelConfig] = field(default_factory=list)
    aliases: list[AliasConfig] = field(default_factory=list)
    keys: list[KeyConfig] = field(default_factory=list)
    rate_limit: RateLimitConfig | None = None
    budget: BudgetConfig | None = None
    cache: CacheConfig | None = None
    files: FilesConfig | None = None
    health: HealthConfig | None = None
    cooldown: CooldownConfig | None = None
    routing: RoutingConfig = field(default_factory=RoutingConfig)
    state: StateConfig = field(default_factory=StateConfig)
    batches: BatchesConfig = field(default_factory=BatchesConfig)


def replace(config: Config, **changes: object) -> Config:
    return msgspec.structs.replace(config, **changes)
