"""liter-llm: an OpenAI-compatible LLM gateway configured by one TOML file.

The public API is what `__all__` lists here, plus `literllm.config` (the typed tables
and the loader), `literllm.hooks` (hooks, guardrails, sinks) and `literllm.testing`
(the fake upstream and clock); every other module is internal and may change.
"""

from ._version import __version__
from .clock import Clock, SystemClock
from .config import Config, load_config
from .errors import (
    AuthenticationError,
    BadRequestError,
    BudgetExceededError,
    ConfigError,
    ConfigErrors,
    GatewayTimeoutError,
    LiterLLMError,
    MethodNotAllowedError,
    MissingCredentialError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitError,
    RequestTimeoutError,
    ServiceUnavailableError,
    UnsupportedMediaTypeError,
    UpstreamError,
)
from .multipart import Form, FormFile
from .observability.otel_setup import configure_tracing_from_env
from .observability.redact import Redactor
from .observability.traffic import RequestList, TrafficReport
from .outcome import Outcome
from .pricing import Pricing
from .protocols.anthropic_errors import anthropic_error, anthropic_error_event
from .protocols.responses_events import error_event as responses_error_event
from .proxy import Proxy
from .results import ChatStream, Response
from .routing.preflight import Preflight
from .transport import StreamResponse, Transport, UpstreamRequest, UpstreamResponse
from .types import Usage

__all__ = [
    "AuthenticationError",
    "BadRequestError",
    "BudgetExceededError",
    "ChatStream",
    "Clock",
    "Config",
    "ConfigError",
    "ConfigErrors",
    "Form",
    "FormFile",
    "GatewayTimeoutError",
    "LiterLLMError",
    "MethodNotAllowedError",
    "MissingCredentialError",
    "NotFoundError",
    "Outcome",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "Preflight",
    "Pricing",
    "Proxy",
    "RateLimitError",
    "Redactor",
    "RequestList",
    "RequestTimeoutError",
    "Response",
    "ServiceUnavailableError",
    "StreamResponse",
    "SystemClock",
    "TrafficReport",
    "Transport",
    "UnsupportedMediaTypeError",
    "UpstreamError",
    "UpstreamRequest",
    "UpstreamResponse",
    "Usage",
    "__version__",
    "anthropic_error",
    "anthropic_error_event",
    "configure_tracing_from_env",
    "load_config",
    "responses_error_event",
]
