"""`/v1/rerank`: the Cohere/Jina request shape (`model`, `query`, `documents`, `top_n`,
`return_documents`) and answer (`results` of `index`, `relevance_score`, `document`).

Jina, Together and the vLLM family take the body as sent; Cohere gets its v2 body
(no `return_documents`: the gateway adds the documents itself); Voyage spells `top_n`
as `top_k` and answers under `data`, which the gateway renames.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from ..errors import BadRequestError
from ..providers.base import Adapter, Target
from ..types import UpstreamRequest, UpstreamResponse, Usage
from .base import OperationResult, PassThrough, peek_json, usage_of
from .catalog import unsupported

__all__ = ["Rerank"]

_encode = msgspec.json.Encoder().encode


class _Shape(msgspec.Struct):
    model: str
    query: str
    documents: list[str | dict[str, Any]]
    top_n: int | None = None
    return_documents: bool | None = None


def _text(document: Any) -> str:
    if isinstance(document, dict):
        return str(document.get("text", ""))
    return str(document)


class Rerank(PassThrough):
    name = "rerank"
    endpoint = "/v1/rerank"
    kind = "rerank"
    upstream_path = "/rerank"
    cacheable = True

    def validate(self, body: dict[str, Any]) -> None:
        from ..requests import check_shape

        check_shape(body, _Shape)
        if not body["model"]:
            raise BadRequestError("'model' must not be empty", param="model", code="invalid_value")
        if not body["documents"]:
            raise BadRequestError(
                "'documents' must not be empty", param="documents", code="invalid_value"
            )
        top_n = body.get("top_n")
        if top_n is not None and top_n < 1:
            raise BadRequestError("'top_n' must be at least 1", param="top_n", code="invalid_value")

    def estimated_tokens(self, body: Mapping[str, Any]) -> int:
        size = len(str(body.get("query", ""))) + sum(
            len(_text(d)) for d in body.get("documents") or ()
        )
        return max(1, size // 4)

    def request(
        self, adapter: Adapter, target: Target, body: dict[str, Any], *, stream: bool
    ) -> UpstreamRequest:
        provider = target.provider
        if provider == "cohere" and self.catalog.serves(provider, self.kind):
            native = {
                "model": target.model,
                "query": body["query"],
                "documents": [_text(d) for d in body["documents"]],
            }
            if body.get("top_n") is not None:
                native["top_n"] = body["top_n"]
            headers = adapter.headers(target)  # type: ignore[attr-defined]
            return UpstreamRequest(
                "POST", target.base_url.rstrip("/") + "/rerank", headers, _encode(native)
            )
        if provider == "voyage":
            body = dict(body)
            if "top_n" in body:
                body["top_k"] = body.pop("top_n")
            body["documents"] = [_text(d) for d in body["documents"]]
        return super().request(adapter, target, body, stream=stream)

    def unit_cost(
        self, provider_model: str, body: Mapping[str, Any], result: OperationResult
    ) -> float | None:
        """Priced per search: one query of up to 100 documents (Cohere's search unit)."""
        per_query = self.pricing.unit_price(provider_model, "query")
        if per_query is None:
            return None
        documents = len(body.get("documents") or ())
        return per_query * max(1, -(-documents // 100))

    def response(
        self, adapter: Adapter, target: Target, response: UpstreamResponse, body: dict[str, Any]
    ) -> OperationResult:
        peek = peek_json(target, response.body)
        answer = msgspec.json.decode(response.body)
        if not isinstance(answer, dict):
            raise unsupported(target.provider, self.endpoint)
        results = answer.get("results")
        if results is None:
            results = answer.pop("data", None) or []
            answer.pop("object", None)
        documents = body.get("documents") or []
        for result in results:
            document = result.get("document")
            if not body.get("return_documents"):
                result.pop("document", None)
            elif isinstance(document, str):
                result["document"] = {"text": document}
            elif (
                document is None
                and isinstance(result.get("index"), int)
                and 0 <= result["index"] < len(documents)
            ):
                result["document"] = {"text": _text(documents[result["index"]])}
        answer["results"] = results
        answer.setdefault("model", target.model)
        usage = usage_of(peek) or _usage_of(answer)
        return OperationResult(
            body=_encode(answer), usage=usage, model=str(answer["model"]), response_id=peek.id
        )


def _usage_of(answer: Mapping[str, Any]) -> Usage | None:
    usage = answer.get("usage")
    if isinstance(usage, dict) and isinstance(usage.get("total_tokens"), int):
        total = usage["total_tokens"]
        return Usage(prompt_tokens=total, completion_tokens=0, total_tokens=total)
    return None
