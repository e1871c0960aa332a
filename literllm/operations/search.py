"""`/v1/search`: web search in the Rust liter-llm's shape.

Request: `model`, `query`, `max_results`, `search_domain_filter`, `country`. Answer:
`{"results": [{"title", "url", "snippet", "date"?}], "model"}`. Providers: Perplexity's
Search API (the same shape; the `mock` provider speaks it too), Tavily (`POST /search`,
`include_domains`, `content`, `published_date`) and Brave (`GET /web/search`,
`X-Subscription-Token`). Priced per query: the model's `query` price, else the
provider's `<provider>/search` entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import msgspec

from ..errors import BadRequestError, UpstreamError
from ..providers.base import Adapter, Target
from ..types import UpstreamRequest, UpstreamResponse
from .base import Operation, OperationResult, peek_json
from .catalog import unsupported

__all__ = ["Search"]

_encode = msgspec.json.Encoder().encode


class _Shape(msgspec.Struct, forbid_unknown_fields=True):
    model: str
    query: str
    max_results: int | None = None
    search_domain_filter: list[str] | None = None
    country: str | None = None


def _bearer(target: Target) -> dict[str, str]:
    headers = {"content-type": "application/json", "accept": "application/json"}
    if target.api_key:
        headers["authorization"] = "Bearer " + target.api_key
    return headers


class Search(Operation):
    name = "search"
    endpoint = "/v1/search"
    kind = "search"

    def validate(self, body: dict[str, Any]) -> None:
        from ..requests import check_shape

        check_shape(body, _Shape)
        if not body["model"]:
            raise BadRequestError("'model' must not be empty", param="model", code="invalid_value")
        if not body["query"].strip():
            raise BadRequestError("'query' must not be empty", param="query", code="invalid_value")
        limit = body.get("max_results")
        if limit is not None and not 1 <= limit <= 100:
            raise BadRequestError(
                "'max_results' must be between 1 and 100", param="max_results", code="invalid_value"
            )

    def estimated_tokens(self, body: Mapping[str, Any]) -> int:
        return 1

    def request(
        self, adapter: Adapter, target: Target, body: dict[str, Any], *, stream: bool
    ) -> UpstreamRequest:
        provider = target.provider
        root = target.base_url.rstrip("/")
        if provider in ("perplexity", "mock"):
            native = {
                k: body[k]
                for k in ("query", "max_results", "search_domain_filter", "country")
                if body.get(k) is not None
            }
            return UpstreamRequest("POST", root + "/search", _bearer(target), _encode(native))
        if provider == "tavily":
            native = {"query": body["query"]}
            if body.get("max_results") is not None:
                native["max_results"] = body["max_results"]
            if body.get("search_domain_filter"):
                native["include_domains"] = body["search_domain_filter"]
            if body.get("country"):
                native["country"] = body["country"]
            return UpstreamRequest(
                "POST", root.removesuffix("/v1") + "/search", _bearer(target), _encode(native)
            )
        if provider == "brave":
            query = body["query"]
            for domain in body.get("search_domain_filter") or ():
                query += f" site:{domain}"
            params: dict[str, Any] = {"q": query}
            if body.get("max_results") is not None:
                params["count"] = min(body["max_results"], 20)
            if body.get("country"):
                params["country"] = body["country"]
            headers = {"accept": "application/json"}
            if target.api_key:
                headers["x-subscription-token"] = target.api_key
            return UpstreamRequest("GET", f"{root}/web/search?{urlencode(params)}", headers, b"")
        raise unsupported(provider, self.endpoint)

    def response(
        self, adapter: Adapter, target: Target, response: UpstreamResponse, body: dict[str, Any]
    ) -> OperationResult:
        peek_json(target, response.body)
        raw = msgspec.json.decode(response.body)
        if not isinstance(raw, dict):
            raise UpstreamError(
                f"provider {target.provider!r} sent a search answer that is not an object",
                status=502,
            )
        if target.provider == "tavily":
            items = [
                _result(r.get("title"), r.get("url"), r.get("content"), r.get("published_date"))
                for r in raw.get("results") or ()
                if isinstance(r, dict)
            ]
        elif target.provider == "brave":
            found = raw.get("web")
            web: dict[str, Any] = found if isinstance(found, dict) else {}
            items = [
                _result(
                    r.get("title"),
                    r.get("url"),
                    r.get("description"),
                    r.get("page_age") or r.get("age"),
                )
                for r in web.get("results") or ()
                if isinstance(r, dict)
            ]
        else:
            items = [
                _result(r.get("title"), r.get("url"), r.get("snippet"), r.get("date"))
                for r in raw.get("results") or ()
                if isinstance(r, dict)
            ]
        limit = body.get("max_results")
        if isinstance(limit, int):
            items = items[:limit]
        answer = {"results": items, "model": body["model"]}
        return OperationResult(body=_encode(answer), model=target.model)

    def unit_cost(
        self, provider_model: str, body: Mapping[str, Any], result: OperationResult
    ) -> float | None:
        price = self.pricing.unit_price(provider_model, "query")
        if price is None:
            provider = provider_model.partition("/")[0]
            price = self.pricing.unit_price(f"{provider}/search", "query")
        return price


def _result(title: Any, url: Any, snippet: Any, date: Any) -> dict[str, Any]:
    result: dict[str, Any] = {
        "title": str(title or ""),
        "url": str(url or ""),
        "snippet": str(snippet or ""),
    }
    if date:
        result["date"] = str(date)
    return result
