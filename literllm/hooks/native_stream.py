"""`on_stream_chunk` hooks on an Anthropic stream passed through natively.

A `/v1/messages` stream to an Anthropic deployment is relayed event by event, so
there are no chat chunks to show the hooks. They are made up from the text: each text
content block is one choice (`index` = the block's index), each `text_delta` one chunk
with `delta.content`, and the block's `content_block_stop` one chunk with
`finish_reason: "stop"` (look-ahead buffers release what they hold there). The text of
the chunks the hooks pass on is written back as `text_delta` events of that block;
every other event (thinking, tool input, citations, message events, pings) passes
unchanged and unseen. Text released only at the end of the stream (`on_stream_end`)
is sent as one more text block before `message_delta`.

`EndStream` closes the open block and ends the message with `message_delta`
(`stop_reason` from the hook's `finish_reason`: `content_filter` is `refusal`) and
`message_stop`; the upstream is closed and settled.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from typing import TYPE_CHECKING, Any

import msgspec

from ..protocols.anthropic_events import sse_event
from ..protocols.anthropic_messages import stop_reason, usage_object
from ..results import ChatStream
from ..types import Usage
from .base import EndStream

if TYPE_CHECKING:
    from .runner import Hooks

__all__ = ["native_messages"]

_decode = msgspec.json.decode


def sse_payload(raw: bytes) -> dict[str, Any] | None:
    """The JSON object in one framed SSE event's `data:` lines (None: none, or not JSON)."""
    data = b"".join(line[5:].lstrip(b" ") for line in raw.split(b"\n") if line.startswith(b"data:"))
    try:
        event = _decode(data) if data else None
    except msgspec.DecodeError:
        return None
    return event if isinstance(event, dict) else None


class _Native:
    """Where the message stands: its id and model, its text blocks, the open block."""

    def __init__(self, hooks: Hooks) -> None:
        self.hooks = hooks
        self.id = ""
        self.model = ""
        self.text_blocks: set[int] = set()
        self.open: int | None = None
        self.last_index = -1
        self.ended = False

    def chunk(self, index: int, delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": 0,
            "model": self.model,
            "choices": [{"index": index, "delta": delta, "finish_reason": finish}],
        }

    async def text(self, index: int, delta: dict[str, Any], finish: str | None) -> list[bytes]:
        out: list[bytes] = []
        for passed in await self.hooks.chunk(self.chunk(index, delta, finish)):
            for choice in passed.get("choices") or ():
                if not isinstance(choice, dict):
                    continue
                text = (choice.get("delta") or {}).get("content")
                if isinstance(text, str) and text:
                    at = choice.get("index", index)
                    out.append(_text_delta(at if at in self.text_blocks else index, text))
        return out

    async def event(self, raw: bytes, out: list[bytes]) -> None:
        event = sse_payload(raw)
        kind = event.get("type") if event is not None else None
        if event is None or kind is None:
            out.append(raw)
            return
        index = event.get("index")
        if kind == "message_start":
            message = event.get("message") or {}
            self.id = str(message.get("id") or "")
            self.model = str(message.get("model") or "")
        elif kind == "content_block_start" and isinstance(index, int):
            self.open = self.last_index = index
            if (event.get("content_block") or {}).get("type") == "text":
                self.text_blocks.add(index)
        elif kind == "content_block_delta" and index in self.text_blocks:
            delta = event.get("delta") or {}
            if delta.get("type") == "text_delta" and isinstance(delta.get("text"), str):
                assert isinstance(index, int)
                out.extend(await self.text(index, {"content": delta["text"]}, None))
                return
        elif kind == "content_block_stop" and isinstance(index, int):
            if index in self.text_blocks:
                out.extend(await self.text(index, {}, "stop"))
            self.open = None
        elif kind == "message_delta" and not self.ended:
            self.ended = True
            out.extend(await self.tail())
        out.append(raw)

    async def tail(self) -> list[bytes]:
        """What the hooks release when the stream ends, as one more text block."""
        texts = [
            text
            for passed in await self.hooks.stream_end()
            for choice in passed.get("choices") or ()
            if isinstance(choice, dict)
            and isinstance(text := (choice.get("delta") or {}).get("content"), str)
            and text
        ]
        if not texts:
            return []
        self.last_index += 1
        index = self.last_index
        block = {"type": "text", "text": ""}
        return [
            sse_event({"type": "content_block_start", "index": index, "content_block": block}),
            *(_text_delta(index, text) for text in texts),
            sse_event({"type": "content_block_stop", "index": index}),
        ]

    def end(self, finish_reason: str, usage: Usage | None) -> list[bytes]:
        out: list[bytes] = []
        if self.open is not None:
            out.append(sse_event({"type": "content_block_stop", "index": self.open}))
            self.open = None
        delta = {"stop_reason": stop_reason(finish_reason), "stop_sequence": None}
        out.append(
            sse_event({"type": "message_delta", "delta": delta, "usage": usage_object(usage)})
        )
        out.append(sse_event({"type": "message_stop"}))
        return out


def _text_delta(index: int, text: str) -> bytes:
    delta = {"type": "text_delta", "text": text}
    return sse_event({"type": "content_block_delta", "index": index, "delta": delta})


async def native_messages(
    hooks: Hooks, stream: ChatStream, usage: Callable[[], Usage | None]
) -> AsyncGenerator[list[bytes], None]:
    """`stream`'s framed Anthropic events through the hooks (see the module)."""
    state = _Native(hooks)
    async for batch in stream.batches():
        out: list[bytes] = []
        try:
            for raw in batch:
                await state.event(raw, out)
        except EndStream as end:
            out.extend(state.end(end.finish_reason, usage()))
            yield out
            await stream.aclose()
            return
        if out:
            yield out
