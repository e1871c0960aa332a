"""Azure OpenAI: OpenAI's wire format under deployment URLs, authenticated by `api-key`.

Two URL families (https://learn.microsoft.com/azure/ai-foundry/openai/reference):
- versioned: `{resource}/openai/deployments/{deployment}/chat/completions?api-version=V`
  (the deployment is `provider_model`'s model id; V from `?api-version=` on `base_url`,
  else `DEFAULT_API_VERSION`);
- v1: a `base_url` ending in `/openai/v1` gives `{base_url}/chat/completions`, with the
  deployment name as `model` in the body.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, quote, urlsplit, urlunsplit

import msgspec

from .base import Target, path_segment
from .openai import OpenAIAdapter, OpenAIStreamDecoder

__all__ = ["DEFAULT_API_VERSION", "AzureAdapter", "AzureStreamDecoder", "azure_url"]

DEFAULT_API_VERSION = "2024-10-21"


class _Peek(msgspec.Struct):
    id: str | None = None
    model: str | None = None
    choices: list[Any] | None = None
    usage: Any | None = None


_peek = msgspec.json.Decoder(_Peek)


def azure_url(base_url: str, deployment: str, path: str) -> str:
    """The endpoint for `path` (`/chat/completions`, `/embeddings`) of a deployment."""
    parts = urlsplit(base_url)
    query = parse_qs(parts.query)
    version = (query.get("api-version") or [DEFAULT_API_VERSION])[0]
    root_path = parts.path.rstrip("/")
    root = urlunsplit((parts.scheme, parts.netloc, root_path, "", ""))
    if root_path.endswith("/openai/v1"):
        return root + path
    if "/openai/deployments/" not in root_path:
        root += f"/openai/deployments/{path_segment(deployment)}"
    return f"{root}{path}?api-version={quote(version, safe='')}"


class AzureAdapter(OpenAIAdapter):
    name = "azure"
    default_base_url: str | None = None
    env_var: str | None = "AZURE_API_KEY"

    def __init__(self) -> None:
        super().__init__(auth="api-key")

    def url(self, target: Target, path: str) -> str:
        return azure_url(target.base_url, target.model, path)

    def stream_decoder(self, target: Target, *, include_usage: bool) -> AzureStreamDecoder:
        return AzureStreamDecoder(self, target, include_usage=include_usage)


class AzureStreamDecoder(OpenAIStreamDecoder):
    """OpenAI's decoder, minus Azure's leading `prompt_filter_results` chunk (empty
    `choices`, empty `id` and `model`), which is not an OpenAI chunk."""

    def __init__(self, adapter: OpenAIAdapter, target: Target, *, include_usage: bool) -> None:
        super().__init__(adapter, target, include_usage=include_usage)
        self._identified = False

    def feed(self, data: bytes) -> list[bytes]:
        return self._keep(super().feed(data))

    def close(self) -> list[bytes]:
        return self._keep(super().close())

    def _keep(self, payloads: list[bytes]) -> list[bytes]:
        kept: list[bytes] = []
        for payload in payloads:
            if not self._identified or b'"prompt_filter_results"' in payload:
                try:
                    peek = _peek.decode(payload)
                except msgspec.DecodeError:
                    peek = _Peek()
                if not peek.choices and peek.usage is None:
                    continue
                if not self._identified and peek.id:
                    self._identified = True
                    self.response_id = peek.id
                    self.model = peek.model or self.model
            kept.append(payload)
        if not self._identified and not self.response_id:
            self.response_id = None
        return kept
