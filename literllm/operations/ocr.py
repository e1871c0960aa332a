"""`/v1/ocr`: document OCR in the Rust liter-llm's shape, served by Mistral's OCR API.

Request: `model`, `document` (`{"type": "document_url", "url"}` or `{"type": "base64",
"data", "media_type"}`), `pages` (1-based), `include_image_base64`. Answer: `{"pages":
[{"index", "markdown", "images"?: [{"id", "image_base64"?}], "dimensions"?: {"width",
"height"}}], "model", "usage"?}`. Mistral gets `document_url` or, for base64 images,
`image_url` as a data URL; its pages are 0-based. Priced per page processed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import msgspec

from ..errors import BadRequestError, UpstreamError
from ..providers.base import Adapter, Target
from ..types import UpstreamRequest, UpstreamResponse
from .base import Operation, OperationResult, peek_json
from .catalog import unsupported

__all__ = ["Ocr"]

_encode = msgspec.json.Encoder().encode


class _UrlDocument(msgspec.Struct, tag="document_url", forbid_unknown_fields=True):
    url: str


class _Base64Document(msgspec.Struct, tag="base64", forbid_unknown_fields=True):
    data: str
    media_type: str


class _Shape(msgspec.Struct, forbid_unknown_fields=True):
    model: str
    document: _UrlDocument | _Base64Document
    pages: list[int] | None = None
    include_image_base64: bool | None = None


_Kind = Literal["document_url", "image_url"]


class Ocr(Operation):
    name = "ocr"
    endpoint = "/v1/ocr"
    kind = "ocr"

    def validate(self, body: dict[str, Any]) -> None:
        from ..requests import check_shape

        check_shape(body, _Shape)
        if not body["model"]:
            raise BadRequestError("'model' must not be empty", param="model", code="invalid_value")
        pages = body.get("pages")
        if pages is not None and any(p < 1 for p in pages):
            raise BadRequestError(
                "'pages' are 1-based page numbers", param="pages", code="invalid_value"
            )

    def estimated_tokens(self, body: Mapping[str, Any]) -> int:
        return 1

    def request(
        self, adapter: Adapter, target: Target, body: dict[str, Any], *, stream: bool
    ) -> UpstreamRequest:
        if not self.catalog.serves(target.provider, self.kind):
            raise unsupported(target.provider, self.endpoint)
        document = body["document"]
        if document["type"] == "document_url":
            native_document: dict[str, str] = {
                "type": "document_url",
                "document_url": document["url"],
            }
        else:
            media_type = str(document["media_type"])
            data_url = f"data:{media_type};base64,{document['data']}"
            kind: _Kind = "image_url" if media_type.startswith("image/") else "document_url"
            native_document = {"type": kind, kind: data_url}
        native: dict[str, Any] = {"model": target.model, "document": native_document}
        if body.get("pages") is not None:
            native["pages"] = [p - 1 for p in body["pages"]]
        if body.get("include_image_base64") is not None:
            native["include_image_base64"] = body["include_image_base64"]
        headers = {"content-type": "application/json", "accept": "application/json"}
        if target.api_key:
            headers["authorization"] = "Bearer " + target.api_key
        url = target.base_url.rstrip("/") + "/ocr"
        return UpstreamRequest("POST", url, headers, _encode(native))

    def response(
        self, adapter: Adapter, target: Target, response: UpstreamResponse, body: dict[str, Any]
    ) -> OperationResult:
        peek_json(target, response.body)
        raw = msgspec.json.decode(response.body)
        if not isinstance(raw, dict) or not isinstance(raw.get("pages"), list):
            raise UpstreamError(
                f"provider {target.provider!r} sent an OCR answer without pages", status=502
            )
        pages: list[dict[str, Any]] = []
        for page in raw["pages"]:
            if not isinstance(page, dict):
                continue
            out: dict[str, Any] = {
                "index": int(page.get("index", len(pages))),
                "markdown": str(page.get("markdown", "")),
            }
            images = page.get("images")
            if images:
                out["images"] = [
                    {"id": str(i.get("id", ""))}
                    | ({"image_base64": i["image_base64"]} if i.get("image_base64") else {})
                    for i in images
                    if isinstance(i, dict)
                ]
            dimensions = page.get("dimensions")
            if isinstance(dimensions, dict) and "width" in dimensions and "height" in dimensions:
                out["dimensions"] = {
                    "width": int(dimensions["width"]),
                    "height": int(dimensions["height"]),
                }
            pages.append(out)
        answer: dict[str, Any] = {"pages": pages, "model": body["model"]}
        return OperationResult(body=_encode(answer), model=target.model)

    def unit_cost(
        self, provider_model: str, body: Mapping[str, Any], result: OperationResult
    ) -> float | None:
        """Pages of the answer times the page price; before the call, the pages asked
        for (one when the request names none)."""
        price = self.pricing.unit_price(provider_model, "page")
        if price is None:
            return None
        if result.body:
            count = len(msgspec.json.decode(result.body).get("pages") or ())
        else:
            count = len(body.get("pages") or ()) or 1
        return price * count
