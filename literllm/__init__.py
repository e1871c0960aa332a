"""liter-llm: an OpenAI-compatible LLM gateway configured by one TOML file."""

from .clock import Clock, SystemClock
from .config import Config, load_config
from .errors import (
    AuthenticationError,
    BadRequestError,
    BudgetExceededError,
    ConfigError,
    GatewayTimeoutError,
    LiterLLMError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitError,
    ServiceUnavailableError,
    UnsupportedMediaTypeError,
    UpstreamError,
)
from .proxy import Proxy
from .results import ChatStream, Response
from .transport.base import StreamResponse, Transport, UpstreamRequest, UpstreamResponse

__version__ = "0.1.0"

__all__ = [
    "AuthenticationError",
    "BadRequestError",
    "BudgetExceededError",
    "ChatStream",
    "Clock",
    "Config",
    "ConfigError",
    "GatewayTimeoutError",
    "LiterLLMError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "Proxy",
    "RateLimitError",
    "Response",
    "ServiceUnavailableError",
    "StreamResponse",
    "SystemClock",
    "Transport",
    "UnsupportedMediaTypeError",
    "UpstreamError",
    "UpstreamRequest",
    "UpstreamResponse",
    "__version__",
    "load_config",
]
