"""Google AI Studio's Gemini API: `generateContent`, `streamGenerateContent?alt=sse` and
`batchEmbedContents`, authenticated with `x-goog-api-key`.

Wire format: https://ai.google.dev/api/generate-content. Vertex AI speaks the same body
under other URLs and auth (`vertex`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from ..errors import UpstreamError
from ..types import UpstreamRequest, UpstreamResponse, Usage
from .base import (
    ChatResult,
    Credential,
    EmbeddingResult,
    Target,
    path_segments,
    static_credential,
)
from .errormap import upstream_error
from .gemini_convert import build_generate_content
from .gemini_response import GeminiStreamDecoder, gemini_chat_result
from .openai_shape import decode_json, embedding_list, embedding_texts, redact

__all__ = ["GeminiAdapter", "google_error"]

_STATUS = {
    "INVALID_ARGUMENT": 400,
    "FAILED_PRECONDITION": 400,
    "OUT_OF_RANGE": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "NOT_FOUND": 404,
    "ALREADY_EXISTS": 409,
    "ABORTED": 409,
    "RESOURCE_EXHAUSTED": 429,
    "CANCELLED": 499,
    "INTERNAL": 500,
    "UNKNOWN": 500,
    "UNAVAILABLE": 503,
    "DEADLINE_EXCEEDED": 504,
}
_TRANSIENT = frozenset({"RESOURCE_EXHAUSTED", "UNAVAILABLE", "INTERNAL", "DEADLINE_EXCEEDED"})
_encode = msgspec.json.Encoder().encode


def _retry_delay(details: Any) -> float | None:
    for detail in details or ():
        delay = detail.get("retryDelay") if isinstance(detail, dict) else None
        if isinstance(delay, str) and delay.endswith("s"):
            try:
                return float(delay[:-1])
            except ValueError:
                return None
    return None


def google_error(
    target: Target, status: int, headers: Mapping[str, str], body: bytes
) -> UpstreamError:
    """Map a `google.rpc.Status` error body (`{"error": {code, message, status}}`)."""
    try:
        raw = msgspec.json.decode(body)
    except msgspec.DecodeError:
        raw = None
    if isinstance(raw, list) and raw:
        raw = raw[0]
    error = raw.get("error") if isinstance(raw, dict) else None
    message: str | None
    if isinstance(error, dict):
        message = error.get("message")
        rpc_status = error.get("status")
        if status < 400:
            status = _STATUS.get(rpc_status or "", 0) or int(error.get("code") or 500)
        retryable = True if rpc_status in _TRANSIENT else None
        result = upstream_error(
            target.provider,
            status,
            redact(message, target.api_key),
            headers,
            retryable=retryable,
            code=rpc_status,
        )
        if result.retry_after is None:
            result.retry_after = _retry_delay(error.get("details"))
        return result
    message = body[:200].decode("utf-8", "replace").strip() or None if body else None
    return upstream_error(
        target.provider, status if status >= 400 else 502, redact(message, target.api_key), headers
    )


class GeminiAdapter:
    name = "gemini"
    base64_embeddings = False
    default_base_url: str | None = "https://generativelanguage.googleapis.com/v1beta"
    env_var: str | None = "GEMINI_API_KEY"

    def credential(self, api_key: str | None) -> Credential:
        return static_credential(api_key)

    def headers(self, target: Target) -> dict[str, str]:
        headers = {"content-type": "application/json"}
        if target.api_key:
            headers["x-goog-api-key"] = target.api_key
        return headers

    def model_url(self, target: Target, method: str) -> str:
        model = path_segments(target.model)  # client text: never a raw path
        if "/" not in target.model:
            model = "models/" + model
        return f"{target.base_url.rstrip('/')}/{model}:{method}"

    def chat_request(
        self, target: Target, body: dict[str, Any], *, stream: bool
    ) -> UpstreamRequest:
        native = build_generate_content(body)
        url = self.model_url(
            target, "streamGenerateContent?alt=sse" if stream else "generateContent"
        )
        return UpstreamRequest("POST", url, self.headers(target), _encode(native))

    def chat_response(self, target: Target, response: UpstreamResponse) -> ChatResult:
        raw = decode_json(target, response.body)
        if not isinstance(raw, dict) or "error" in raw:
            raise self.error(target, response.status, response.headers, response.body)
        return gemini_chat_result(target, raw)

    def stream_decoder(self, target: Target, *, include_usage: bool) -> GeminiStreamDecoder:
        return GeminiStreamDecoder(
            target,
            include_usage=include_usage,
            on_error=lambda status, body: self.error(target, status, {}, body),
        )

    def embeddings_request(self, target: Target, body: dict[str, Any]) -> UpstreamRequest:
        texts = embedding_texts(body, target.provider)
        model = target.model if "/" in target.model else "models/" + target.model
        requests = []
        for text in texts:
            request: dict[str, Any] = {"model": model, "content": {"parts": [{"text": text}]}}
            if body.get("dimensions"):
                request["outputDimensionality"] = body["dimensions"]
            requests.append(request)
        return UpstreamRequest(
            "POST",
            self.model_url(target, "batchEmbedContents"),
            self.headers(target),
            _encode({"requests": requests}),
        )

    def embeddings_response(self, target: Target, response: UpstreamResponse) -> EmbeddingResult:
        raw = decode_json(target, response.body)
        vectors = [e.get("values") or [] for e in (raw.get("embeddings") or ())]
        # batchEmbedContents reports no token counts
        usage = Usage()
        return EmbeddingResult(
            body=embedding_list(vectors, model=target.model, usage=usage),
            usage=usage,
            model=target.model,
        )

    def error(
        self, target: Target, status: int, headers: Mapping[str, str], body: bytes
    ) -> UpstreamError:
        return google_error(target, status, headers, body)
