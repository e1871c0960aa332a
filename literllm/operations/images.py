"""`/v1/images/generations` (JSON), `/v1/images/edits` and `/v1/images/variations`
(multipart): OpenAI's shapes, `b64_json` or `url` as the provider answers them.

Priced per image by size and quality where the price table has it (`Pricing.
image_price`), else by the tokens the answer reports (gpt-image models)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from ..errors import BadRequestError
from ..providers.base import Adapter, Target
from ..types import UpstreamResponse, Usage
from .base import Operation, OperationResult, PassThrough, peek_json
from .uploads import FormOperation

__all__ = ["ImageEdits", "ImageGenerations", "ImageVariations"]


class _Shape(msgspec.Struct):
    prompt: str
    model: str | None = None
    n: int | None = None
    size: str | None = None
    quality: str | None = None
    response_format: str | None = None


class _ImageUsage(msgspec.Struct):
    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None


class _ImagePeek(msgspec.Struct):
    usage: _ImageUsage | None = None
    data: list[Any] | None = None


_peek = msgspec.json.Decoder(_ImagePeek)


def _response(target: Target, response: UpstreamResponse) -> OperationResult:
    peek_json(target, response.body)  # a 502 for what is not JSON
    usage = None
    try:
        raw = _peek.decode(response.body).usage
    except msgspec.ValidationError:
        raw = None
    if raw is not None:
        prompt = raw.input_tokens or 0
        completion = raw.output_tokens or 0
        usage = Usage(
            prompt_tokens=prompt,
            completion_tokens=completion,
            total_tokens=raw.total_tokens or prompt + completion,
        )
    return OperationResult(body=response.body, usage=usage, model=target.model)


def _image_cost(
    operation: Operation, provider_model: str, fields: Mapping[str, Any]
) -> float | None:
    n = fields.get("n")
    text = str(n) if isinstance(n, int | str) else ""
    # ASCII digits int() takes: "²".isdigit() is true, and 5,000 digits raise
    count = int(text) if text.isascii() and text.isdigit() and 0 < len(text) <= 9 else 1
    count = count or 1
    size = fields.get("size") if isinstance(fields.get("size"), str) else None
    quality = fields.get("quality") if isinstance(fields.get("quality"), str) else None
    price = operation.pricing.image_price(provider_model, size, quality)
    return None if price is None else price * count


class ImageGenerations(PassThrough):
    name = "image_generation"
    endpoint = "/v1/images/generations"
    kind = "image"
    upstream_path = "/images/generations"

    def validate(self, body: dict[str, Any]) -> None:
        from ..requests import check_shape

        check_shape(body, _Shape)
        if not body.get("model"):
            raise BadRequestError(
                "missing required field 'model'", param="model", code="missing_required_field"
            )
        if not body["prompt"]:
            raise BadRequestError(
                "'prompt' must not be empty", param="prompt", code="invalid_value"
            )
        n = body.get("n")
        if n is not None and not 1 <= n <= 10:
            raise BadRequestError("'n' must be between 1 and 10", param="n", code="invalid_value")

    def response(
        self, adapter: Adapter, target: Target, response: UpstreamResponse, body: dict[str, Any]
    ) -> OperationResult:
        return _response(target, response)

    def unit_cost(
        self, provider_model: str, body: Mapping[str, Any], result: OperationResult
    ) -> float | None:
        return _image_cost(self, provider_model, body)


class ImageEdits(FormOperation):
    name = "image_edit"
    endpoint = "/v1/images/edits"
    kind = "image"
    upstream_path = "/images/edits"
    file_fields = ("image",)

    def response(
        self, adapter: Adapter, target: Target, response: UpstreamResponse, body: dict[str, Any]
    ) -> OperationResult:
        return _response(target, response)

    def unit_cost(
        self, provider_model: str, body: Mapping[str, Any], result: OperationResult
    ) -> float | None:
        return _image_cost(self, provider_model, body)


class ImageVariations(ImageEdits):
    name = "image_variation"
    endpoint = "/v1/images/variations"
    upstream_path = "/images/variations"
