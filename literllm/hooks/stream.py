"""A chat stream passed through `on_stream_chunk` hooks.

Each upstream batch is decoded chunk by chunk, handed to the hooks and re-encoded;
batches a hook held back entirely are not sent (an SSE event is never empty). On
`EndStream` the chunks released so far are followed by one closing chunk with the
hook's `finish_reason`, and the upstream stream is closed (and settled) at once.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Any

import msgspec

from ..results import ChatStream
from .base import EndStream

if TYPE_CHECKING:
    from .runner import Hooks

__all__ = ["filtered"]

_decode = msgspec.json.decode
_encode = msgspec.json.Encoder().encode


async def filtered(hooks: Hooks, stream: ChatStream) -> AsyncGenerator[list[bytes], None]:
    last: dict[str, Any] = {}
    try:
        async for batch in stream.batches():
            out: list[bytes] = []
            try:
                for raw in batch:
                    chunk = _decode(raw)
                    if isinstance(chunk, dict):
                        last = chunk
                        out.extend(_encode(c) for c in await hooks.chunk(chunk))
                    else:
                        out.append(raw)
            except EndStream as end:
                out.append(_encode(_closing(last, end.finish_reason)))
                yield out
                await stream.aclose()
                return
            if out:
                yield out
        tail = await hooks.stream_end()
        if tail:
            yield [_encode(c) for c in tail]
    except EndStream as end:
        yield [_encode(_closing(last, end.finish_reason))]
        await stream.aclose()


def _closing(last: dict[str, Any], finish_reason: str) -> dict[str, Any]:
    """A final chunk in OpenAI's shape, with the id and model of the stream."""
    choices = last.get("choices") or [{"index": 0}]
    return {
        "id": last.get("id", ""),
        "object": "chat.completion.chunk",
        "created": last.get("created", 0),
        "model": last.get("model", ""),
        "choices": [
            {"index": c.get("index", 0), "delta": {}, "finish_reason": finish_reason}
            for c in choices
            if isinstance(c, dict)
        ],
    }
