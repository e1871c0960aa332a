"""A stream passed through `on_stream_chunk` hooks, which always see OpenAI chat chunks.

Each upstream batch is decoded chunk by chunk, handed to the hooks and re-encoded;
batches a hook held back entirely are not sent (an SSE event is never empty). On
`EndStream` the chunks released so far are followed by one closing chunk with the
hook's `finish_reason`, and the upstream stream is closed (and settled) at once.

A stream translated for another inbound protocol (`/v1/messages`, `/v1/responses` to a
chat-completions provider) reaches the hooks untranslated: the hooks see the
provider's chat chunks, and what they pass on is translated to the client's events
here (`Translation`), so a closing chunk becomes that protocol's own ending.
Items that are not JSON objects (the audio of a speech stream) pass unchanged.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from typing import TYPE_CHECKING, Any, Protocol

import msgspec

from ..results import ChatStream
from .base import EndStream

if TYPE_CHECKING:
    from .runner import Hooks

__all__ = ["Translation", "closing_chunk", "filtered"]

_decode = msgspec.json.decode
_encode = msgspec.json.Encoder().encode


class Translation(Protocol):
    """Chat chunks to the client's framed events, one event an item."""

    def translate(self, chunk: Mapping[str, Any]) -> list[bytes]: ...

    def finish(self) -> list[bytes]: ...


class _Encode:
    """The OpenAI protocol: a chunk is sent as its JSON."""

    @staticmethod
    def translate(chunk: Mapping[str, Any]) -> list[bytes]:
        return [_encode(chunk)]

    @staticmethod
    def finish() -> list[bytes]:
        return []


async def filtered(
    hooks: Hooks, stream: ChatStream, translation: Translation | None = None
) -> AsyncGenerator[list[bytes], None]:
    into: Translation = translation if translation is not None else _Encode()
    last: dict[str, Any] = {}
    try:
        async for batch in stream.batches():
            out: list[bytes] = []
            try:
                for raw in batch:
                    try:
                        chunk = _decode(raw)
                    except msgspec.DecodeError:  # not a chunk: audio bytes of a speech stream
                        chunk = None
                    if isinstance(chunk, dict):
                        last = chunk
                        for passed in await hooks.chunk(chunk):
                            out.extend(into.translate(passed))
                    elif translation is None:
                        out.append(raw)
            except EndStream as end:
                out.extend(into.translate(closing_chunk(last, end.finish_reason)))
                out.extend(into.finish())
                yield out
                await stream.aclose()
                return
            if out:
                yield out
        out = [event for passed in await hooks.stream_end() for event in into.translate(passed)]
        out.extend(into.finish())
        if out:
            yield out
    except EndStream as end:
        yield [*into.translate(closing_chunk(last, end.finish_reason)), *into.finish()]
        await stream.aclose()


def closing_chunk(last: Mapping[str, Any], finish_reason: str) -> dict[str, Any]:
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
