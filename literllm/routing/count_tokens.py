"""`/v1/messages/count_tokens`: Anthropic's count when an Anthropic deployment serves
the model, otherwise the gateway's estimate (about one token per 4 bytes of JSON, the
same estimate rate limits reserve with)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import msgspec

from ..providers.anthropic import AnthropicAdapter
from ..providers.anthropic_native import native_request
from ..results import Response
from ..transport import Transport
from .resolve import Resolver

__all__ = ["count_tokens", "estimate_input_tokens"]

_encode = msgspec.json.Encoder().encode


def estimate_input_tokens(request: Mapping[str, Any]) -> int:
    size = sum(
        len(_encode(request[name]))
        for name in ("system", "messages", "tools")
        if request.get(name) is not None
    )
    return max(1, math.ceil(size / 4))


async def count_tokens(
    resolver: Resolver,
    transport: Transport,
    request: Mapping[str, Any],
    headers: Mapping[str, str] | None,
) -> Response:
    _, pool = resolver.routes(request["model"])[0]
    for deployment in pool:
        adapter = deployment.adapter
        if type(adapter) is not AnthropicAdapter or deployment.missing_credential is not None:
            continue
        target = await deployment.current_target()
        upstream = native_request(adapter, target, request, headers, path="/messages/count_tokens")
        response = await transport.send(upstream, timeout=deployment.timeout)
        if response.status >= 400:
            raise adapter.error(target, response.status, response.headers, response.body)
        return Response(response.body, {"x-literllm-route": deployment.label})
    body = _encode({"input_tokens": estimate_input_tokens(request)})
    return Response(body, {"x-literllm-token-count": "estimate"})
