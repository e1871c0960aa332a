"""Typed structs for every table of `liter-llm-proxy.toml`, with the documented defaults.

Every struct forbids unknown fields. Tables marked "extension" are ours, not the
reference's; docs/configuration.md describes them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct, field

U16 = Annotated[int, Meta(ge=0, le=65535)]
U32 = Annotated[int, Meta(ge=0, le=4_294_967_295)]
U64 = Annotated[int, Meta(ge=0, le=9_223_372_036_854_775_807)]
NonNegativeFloat = Annotated[float, Meta(ge=0)]
OptionValue = str | int | float | bool
BUDGET_DURATION_PATTERN = r"^[1-9][0-9]{0,3}(d|mo)$"
BudgetDuration = Annotated[str, Meta(pattern=BUDGET_DURATION_PATTERN)]
"""A budget period: N days ("1d", "7d", "30d") or N calendar months ("1mo"), UTC."""

__all__ = [
    "AlertsConfig",
    "AliasConfig",
    "BatchesConfig",
    "BudgetConfig",
    "CacheConfig",
    "Config",
    "CooldownConfig",
    "FilesConfig",
    "GeneralConfig",
    "GuardrailConfig",
    "HealthConfig",
    "HookConfig",
    "HookPoint",
    "KeyConfig",
    "ModelConfig",
    "RateLimitConfig",
    "RoutingConfig",
    "ServerConfig",
    "StateConfig",
    "Strategy",
    "TeamConfig",
    "UpstreamConfig",
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
    # Extension: how many recent requests `GET /admin/requests` can show (0: none).
    recent_requests: Annotated[int, Meta(ge=0, le=100_000)] = 1000


class GeneralConfig(_Table, frozen=True):
    master_key: str | None = None
    default_timeout_secs: U64 = 120
    max_retries: U32 = 3
    enable_cost_tracking: bool = False
    enable_tracing: bool = False
    # extension: serve any `provider/model` of a known provider, not only those an
    # [[aliases]] pattern matches
    passthrough: bool = False


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
    # extension: `budget_limit` applies per period instead of for the key's lifetime
    budget_duration: BudgetDuration | None = None
    # extension: the `[[teams]]` entry whose limits bind this key with the team's others
    team: str | None = None


class TeamConfig(_Table, frozen=True):
    """Extension: limits shared by every key of the team, on top of each key's own."""

    name: str
    models: list[str] = field(default_factory=list)
    rpm: U32 | None = None
    tpm: U64 | None = None
    budget_limit: NonNegativeFloat | None = None
    budget_duration: BudgetDuration | None = None


class RateLimitConfig(_Table, frozen=True):
    rpm: U32 | None = None
    tpm: U64 | None = None


class BudgetConfig(_Table, frozen=True):
    global_limit: NonNegativeFloat | None = None
    model_limits: dict[str, NonNegativeFloat] = field(default_factory=dict)
    enforcement: Literal["hard", "soft"] = "hard"
    # extensions: `global_limit` / every `model_limits` entry applies per period
    budget_duration: BudgetDuration | None = None
    model_budget_duration: BudgetDuration | None = None


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


PositiveInt = Annotated[int, Meta(ge=1, le=9_223_372_036_854_775_807)]
PositiveFloat = Annotated[float, Meta(gt=0)]


class UpstreamConfig(_Table, frozen=True):
    """Extension: what the HTTP client may hold and open towards the upstreams."""

    max_response_bytes: PositiveInt = 33_554_432
    max_event_bytes: PositiveInt = 8_388_608
    max_connections: PositiveInt = 512
    max_connections_per_host: PositiveInt = 256
    pool_timeout_secs: PositiveFloat = 30.0
    idle_timeout_secs: NonNegativeFloat = 15.0


HookPoint = Literal[
    "before_request", "after_response", "on_stream_chunk", "on_complete", "on_error"
]
"""The points of a request a hook can run at."""


class HookConfig(_Table, frozen=True):
    """Extension: a user-written hook, `factory(**settings)` from `package.module:factory`."""

    path: str
    on: list[HookPoint] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    keys: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    on_failure: Literal["fail", "skip"] = "fail"


class GuardrailConfig(_Table, frozen=True):
    """Extension: a built-in guardrail; `settings` is typed per `type` (see `guardrails`)."""

    type: Literal["patterns", "max_input_tokens", "moderation"]
    settings: dict[str, Any] = field(default_factory=dict)
    keys: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    on_failure: Literal["fail", "skip"] = "fail"


AlertEvent = Literal["budget", "key_expiry", "cooldown", "state_unavailable"]


class AlertsConfig(_Table, frozen=True):
    """Extension: webhooks for budget thresholds, expiring keys, cooldowns and an
    unreachable state store."""

    webhook_urls: list[str] = field(default_factory=list)
    secret: str | None = None
    thresholds: list[Annotated[int, Meta(ge=1, le=100)]] = field(
        default_factory=lambda: [50, 80, 100]
    )
    events: list[AlertEvent] = field(
        default_factory=lambda: ["budget", "key_expiry", "cooldown", "state_unavailable"]
    )
    key_expiry_warning_secs: U64 = 86_400
    check_interval_secs: Annotated[float, Meta(gt=0)] = 10.0
    max_attempts: Annotated[int, Meta(ge=1, le=20)] = 5
    timeout_secs: Annotated[float, Meta(gt=0)] = 5.0


class Config(_Table, frozen=True):
    server: ServerConfig = field(default_factory=ServerConfig)
    general: GeneralConfig = field(default_factory=GeneralConfig)
    models: list[ModelConfig] = field(default_factory=list)
    aliases: list[AliasConfig] = field(default_factory=list)
    keys: list[KeyConfig] = field(default_factory=list)
    teams: list[TeamConfig] = field(default_factory=list)
    rate_limit: RateLimitConfig | None = None
    budget: BudgetConfig | None = None
    cache: CacheConfig | None = None
    files: FilesConfig | None = None
    health: HealthConfig | None = None
    cooldown: CooldownConfig | None = None
    routing: RoutingConfig = field(default_factory=RoutingConfig)
    state: StateConfig = field(default_factory=StateConfig)
    batches: BatchesConfig = field(default_factory=BatchesConfig)
    upstream: UpstreamConfig = field(default_factory=UpstreamConfig)
    hooks: list[HookConfig] = field(default_factory=list)
    guardrails: list[GuardrailConfig] = field(default_factory=list)
    alerts: AlertsConfig | None = None


def replace(config: Config, **changes: object) -> Config:
    return msgspec.structs.replace(config, **changes)
