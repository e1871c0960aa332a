"""The configuration: typed tables and the strict loader."""

from .loader import CONFIG_FILENAME, discover, interpolate, load_config, parse_config
from .schema import (
    AliasConfig,
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

__all__ = [
    "CONFIG_FILENAME",
    "AliasConfig",
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
    "discover",
    "interpolate",
    "load_config",
    "parse_config",
]
