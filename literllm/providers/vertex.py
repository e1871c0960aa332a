"""Vertex AI: Gemini's wire format under project/location URLs, with an OAuth bearer.

The adapter stays sans-I/O: `Target.api_key` carries an OAuth access token that
`literllm.routing.credentials.VertexTokenSource` obtained (and refreshes). Embeddings use the
`predict` method of the text-embedding models.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from ..types import UpstreamRequest, UpstreamResponse, Usage
from .base import Credential, EmbeddingResult, Target, path_segments
from .gemini import GeminiAdapter
from .openai_shape import decode_json, embedding_list, embedding_texts

__all__ = ["DEFAULT_LOCATION", "VertexAdapter", "resolve_base_url", "vertex_base_url"]

DEFAULT_LOCATION = "us-central1"
_encode = msgspec.json.Encoder().encode


def vertex_base_url(project: str, location: str = DEFAULT_LOCATION) -> str:
    host = (
        "aiplatform.googleapis.com"
        if location == "global"
        else f"{location}-aiplatform.googleapis.com"
    )
    return f"https://{host}/v1/projects/{project}/locations/{location}"


def resolve_base_url(environ: Mapping[str, str]) -> str | None:
    """The endpoint root from `VERTEXAI_PROJECT` (or `GOOGLE_CLOUD_PROJECT`) and
    `VERTEXAI_LOCATION` (or `GOOGLE_CLOUD_LOCATION`, default us-central1); None
    without a project."""
    project = environ.get("VERTEXAI_PROJECT") or environ.get("GOOGLE_CLOUD_PROJECT")
    if not project:
        return None
    location = (
        environ.get("VERTEXAI_LOCATION") or environ.get("GOOGLE_CLOUD_LOCATION") or DEFAULT_LOCATION
    )
    return vertex_base_url(project, location)


class VertexAdapter(GeminiAdapter):
    name = "vertex_ai"
    default_base_url: str | None = None
    env_var: str | None = None
    # the endpoint comes from the environment when [[models]] sets no base_url
    resolve_base_url = staticmethod(resolve_base_url)

    def credential(self, api_key: str | None) -> Credential:
        # `api_key` names a service-account key file; the bearer token is obtained (and
        # refreshed) from it, or from application default credentials.
        return Credential(
            source="google_service_account", service_account_file=api_key, required=False
        )

    def headers(self, target: Target) -> dict[str, str]:
        headers = {"content-type": "application/json"}
        if target.api_key:
            headers["authorization"] = "Bearer " + target.api_key
        return headers

    def model_url(self, target: Target, method: str) -> str:
        model = path_segments(target.model)  # client text: never a raw path
        if "/" not in target.model:
            model = "publishers/google/models/" + model
        return f"{target.base_url.rstrip('/')}/{model}:{method}"

    def embeddings_request(self, target: Target, body: dict[str, Any]) -> UpstreamRequest:
        texts = embedding_texts(body, target.provider)
        native: dict[str, Any] = {"instances": [{"content": text} for text in texts]}
        if body.get("dimensions"):
            native["parameters"] = {"outputDimensionality": body["dimensions"]}
        return UpstreamRequest(
            "POST", self.model_url(target, "predict"), self.headers(target), _encode(native)
        )

    def embeddings_response(self, target: Target, response: UpstreamResponse) -> EmbeddingResult:
        raw = decode_json(target, response.body)
        vectors: list[list[float]] = []
        tokens = 0
        for prediction in raw.get("predictions") or ():
            embeddings = prediction.get("embeddings") or {}
            vectors.append(embeddings.get("values") or [])
            tokens += int((embeddings.get("statistics") or {}).get("token_count") or 0)
        usage = Usage(prompt_tokens=tokens, total_tokens=tokens)
        return EmbeddingResult(
            body=embedding_list(vectors, model=target.model, usage=usage),
            usage=usage,
            model=target.model,
        )
