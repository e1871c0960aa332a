"""The configuration: typed tables, the strict loader, checks, warnings and the summary."""

from .advice import config_warnings
from .checks import is_provider_model
from .interpolate import interpolate
from .loader import (
    CONFIG_FILENAME,
    DEFAULT_STATE_PATH,
    discover,
    find_config,
    load_config,
    parse_config,
)
from .overrides import MASTER_KEY_ENV, apply_overrides
from .schema import (
    AliasConfig,
    BatchesConfig,
    BudgetConfig,
    CacheConfig,
    Config,
    CooldownConfig,
    FilesConfig,
    GeneralConfig,
    HealthConfig,
    KeyConfig,
    ModelConfig,
    RateLimitConfig,
    RoutingConfig,
    ServerConfig,
    StateConfig,
)
from .summary import redact_token, summary

__all__ = [
    "CONFIG_FILENAME",
    "DEFAULT_STATE_PATH",
    "MASTER_KEY_ENV",
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
    "apply_overrides",
    "config_warnings",
    "discover",
    "find_config",
    "interpolate",
    "is_provider_model",
    "load_config",
    "parse_config",
    "redact_token",
    "summary",
]
