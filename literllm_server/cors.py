"""CORS per `[server] cors_origins`: `["*"]` is open; otherwise only listed origins."""

from __future__ import annotations

from .http import Request, Send

__all__ = ["Cors"]

_ALLOW_HEADERS = (
    b"authorization, content-type, x-api-key, api-key, x-request-id, "
    b"cache-control, openai-organization, openai-project, x-stainless-arch, "
    b"x-stainless-lang, x-stainless-os, x-stainless-package-version, "
    b"x-stainless-runtime, x-stainless-runtime-version, x-stainless-retry-count, "
    b"x-stainless-timeout, traceparent, tracestate"
)
_ALLOW_METHODS = b"GET, POST, DELETE, OPTIONS"
_EXPOSE = (
    b"x-request-id, x-literllm-route, x-literllm-provider-model, x-literllm-attempts, "
    b"x-literllm-cache, x-literllm-response-cost, retry-after, x-ratelimit-limit-requests, "
    b"x-ratelimit-remaining-requests, x-ratelimit-reset-requests, "
    b"x-ratelimit-limit-tokens, x-ratelimit-remaining-tokens, x-ratelimit-reset-tokens"
)


class Cors:
    def __init__(self, origins: list[str]) -> None:
        self.any = "*" in origins
        self.origins = frozenset(origins)

    def _allow(self, request: Request) -> bytes | None:
        origin = request.headers.get("origin")
        if origin is None:
            return None
        if self.any:
            return b"*"
        return origin.encode("latin-1") if origin in self.origins else None

    def headers(self, request: Request) -> list[tuple[bytes, bytes]]:
        allowed = self._allow(request)
        if allowed is None:
            return []
        headers = [
            (b"access-control-allow-origin", allowed),
            (b"access-control-expose-headers", _EXPOSE),
        ]
        if not self.any:
            headers.append((b"vary", b"origin"))
        return headers

    async def preflight(self, request: Request, send: Send) -> None:
        allowed = self._allow(request)
        headers = [(b"content-length", b"0")]
        status = 400
        if allowed is not None:
            status = 204
            headers += [
                (b"access-control-allow-methods", _ALLOW_METHODS),
                (b"access-control-allow-headers", _ALLOW_HEADERS),
                (b"access-control-max-age", b"600"),
            ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
