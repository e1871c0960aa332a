"""The configuration: typed tables, the strict loader, checks, warnings and the summary."""

from .advice import config_warnings
from .checks import is_provider_model
from .interpolate import interpolate
from .loader import (
    CONFIG_FILENAME,
    DEFAULT_STATE_PATH,
    Check,
    ConfigReport,
    discover,
    find_config,
    inspect_config,
    load_config,
    parse_config,
    parse_config_report,
)
from .overrides import MASTER_KEY_ENV, apply_overrides
from .problem import ConfigProblem
from .schema import (
    AliasConfig,
    BatchesConfig,
    BudgetConfig,
    CacheConfig,
    Config,
    CooldownConfig,
    FilesConfig,
    GeneralConfig,
    GuardrailConfig,
    HealthConfig,
    HookConfig,
    HookPoint,
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
    "Check",
    "Config",
    "ConfigProblem",
    "ConfigReport",
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
    "apply_overrides",
    "config_warnings",
    "discover",
    "find_config",
    "inspect_config",
    "interpolate",
    "is_provider_model",
    "load_config",
    "parse_config",
    "parse_config_report",
    "redact_token",
    "summary",
]
