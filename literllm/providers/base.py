"""The sans-I/O provider adapter protocol and the values adapters exchange.

An adapter turns an OpenAI-shaped request body into one `UpstreamRequest` (method,
URL, headers, body) and turns the provider's bytes back into OpenAI-shaped bytes plus
the usage the gateway accounts. It never opens a socket and never reads the
environment: credentials and endpoints arrive resolved in the `Target`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, Protocol
from urllib.parse import quote

import msgspec

from ..errors import BadRequestError, UpstreamError
from ..types import UpstreamRequest, UpstreamResponse, Usage

__all__ = [
    "Adapter",
    "ChatResult",
    "Credential",
    "EmbeddingResult",
    "StreamDecoder",
    "Target",
    "path_segment",
    "path_segments",
    "static_credential",
]


def path_segment(text: str) -> str:
    """`text` (a model or deployment name the client may have chosen) as one URL path
    segment: every reserved, space, control and non-ASCII character percent-encoded.
    `.` and `..` (which a server would resolve as a directory step) and the empty
    string are refused."""
    if text in ("", ".", ".."):
        raise BadRequestError(
            f"model name {text!r} cannot be sent to the provider (an empty, '.' or '..' "
            "path segment)",
            param="model",
            code="invalid_model",
        )
    return quote(text, safe="")


def path_segments(text: str) -> str:
    """`text` with its `/` kept as path separators, each segment as `path_segment`
    (for resource names such as Gemini's `tunedModels/x`)."""
    return "/".join(path_segment(part) for part in text.split("/"))


class Target(msgspec.Struct, frozen=True, kw_only=True):
    """Where and as whom one attempt goes: a deployment, resolved."""

    provider: str
    """Provider name as written before the slash of `provider_model` (`openai`, `anthropic`)."""
    model: str
    """The model id the upstream receives (`gpt-4o` for `openai/gpt-4o`)."""
    base_url: str
    """Endpoint root, from `base_url` in the config or the provider's default."""
    api_key: str | None = None
    """Credential for the provider (for Vertex AI, an OAuth access token)."""
    max_output_tokens: int | None = None
    """The model's maximum output from the pricing data, where known."""


class Credential(msgspec.Struct, frozen=True, kw_only=True):
    """How a provider is authenticated, as its adapter reads the configured key."""

    api_key: str | None = None
    """Sent as is (bearer token, API key); None when there is none or it is not the
    credential itself."""
    source: Literal["static", "google_service_account", "aws_chain"] = "static"
    """Where a short-lived credential is obtained (with I/O, outside the adapter):
    `google_service_account` (Vertex AI OAuth, from `service_account_file` or application
    default credentials) or `aws_chain` (botocore's credential chain)."""
    service_account_file: str | None = None
    required: bool = True
    """Whether a request without `api_key` cannot succeed (a missing-credential warning)."""


def static_credential(api_key: str | None) -> Credential:
    """The usual case: the configured key, or the provider's variable, is the credential."""
    return Credential(api_key=api_key)


class ChatResult(msgspec.Struct, kw_only=True):
    """A finished, non-streaming chat completion in OpenAI's shape."""

    body: bytes
    usage: Usage | None = None
    model: str | None = None
    response_id: str | None = None
    finish_reasons: list[str] = msgspec.field(default_factory=list)
    stop_sequence: str | None = None
    """Set when the provider says a stop sequence ended the answer (which OpenAI's
    `finish_reason: "stop"` cannot tell): the sequence, or "" when it does not say which."""


class EmbeddingResult(msgspec.Struct, kw_only=True):
    body: bytes
    usage: Usage | None = None
    model: str | None = None


class StreamDecoder(Protocol):
    """Turns a provider's streamed body into OpenAI chat-completion chunks.

    `feed` takes raw bytes as they arrive (any split) and returns the JSON payloads of
    complete OpenAI chunks (no `data: ` framing, no `[DONE]`). It raises
    `UpstreamError` when the provider reports an error inside the stream. The usage
    chunk is returned only when the client asked for it (`include_usage`), but
    `usage` is filled either way.
    """

    usage: Usage | None
    response_id: str | None
    model: str | None
    finish_reasons: list[str]

    def feed(self, data: bytes) -> list[bytes]: ...

    def close(self) -> list[bytes]:
        """End of body: flush whatever is complete; raise if the stream was cut short."""


class Adapter(Protocol):
    name: str
    base64_embeddings: bool
    """Whether the provider itself answers `encoding_format: "base64"`; when it does
    not, the gateway encodes the floats it returns (the openai SDK asks for base64)."""

    def credential(self, api_key: str | None) -> Credential:
        """How requests are authenticated given the key from the config or the
        provider's environment variable (None when neither has one)."""

    def chat_request(
        self, target: Target, body: dict[str, Any], *, stream: bool
    ) -> UpstreamRequest:
        """Build the native request. `body` is the client's OpenAI request (a copy the
        adapter may change); for streams the adapter asks the provider for usage."""

    def chat_response(self, target: Target, response: UpstreamResponse) -> ChatResult:
        """Parse a 2xx native response (call `error` for other statuses)."""

    def stream_decoder(self, target: Target, *, include_usage: bool) -> StreamDecoder: ...

    def embeddings_request(self, target: Target, body: dict[str, Any]) -> UpstreamRequest:
        """Raise `BadRequestError` when the provider has no embeddings."""

    def embeddings_response(
        self, target: Target, response: UpstreamResponse
    ) -> EmbeddingResult: ...

    def error(
        self, target: Target, status: int, headers: Mapping[str, str], body: bytes
    ) -> UpstreamError:
        """Map a native error answer to an `UpstreamError` with status, OpenAI type
        and `retryable` set. Never echo the credential."""
