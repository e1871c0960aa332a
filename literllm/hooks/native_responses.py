"""`on_stream_chunk` hooks on a Responses stream passed through natively.

A `/v1/responses` stream relayed event by event from an upstream that serves the
Responses API has no chat chunks to show the hooks, so they are made up from the
text, as for a native Anthropic stream: each output text part is one choice (`index`
= its `output_index`), each `response.output_text.delta` one chunk with
`delta.content`, and the part's `response.output_text.done` one chunk with
`finish_reason: "stop"`. What the hooks pass on is sent as `output_text.delta` events
of that part, and the events that repeat the whole text (`output_text.done`,
`content_part.done`, `output_item.done`, the final response) carry the text as
passed on, so nothing the hooks held back or rewrote leaks through them. Other
events pass unchanged and unseen. Every event is renumbered: `sequence_number` counts
the events the client gets, from 0.

`EndStream` closes the open text part and its item, then ends with
`response.incomplete` (`incomplete_details.reason`: `max_output_tokens` for a
`length` finish, else `content_filter`); the upstream is closed and settled. The final
Response object as sent is left in `Hooks.final_response` (to be stored).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Any

import msgspec

from ..results import ChatStream
from .base import EndStream
from .native_stream import sse_payload

if TYPE_CHECKING:
    from .runner import Hooks

__all__ = ["native_responses"]

_decode = msgspec.json.decode
_encode = msgspec.json.Encoder().encode
_FINAL = ("response.completed", "response.incomplete", "response.failed")


class _Part:
    """One output text part: where it is and the text passed on so far."""

    __slots__ = ("content_index", "item_id", "text")

    def __init__(self, item_id: str, content_index: int) -> None:
        self.item_id = item_id
        self.content_index = content_index
        self.text = ""


class _Native:
    def __init__(self, hooks: Hooks) -> None:
        self.hooks = hooks
        self.sequence = 0
        self.id = ""
        self.model = ""
        self.snapshot: dict[str, Any] = {}
        self.parts: dict[tuple[int, int], _Part] = {}
        self.items: dict[int, dict[str, Any]] = {}  # open items, as added
        self.done: dict[int, dict[str, Any]] = {}  # finished items, as sent
        self.ended = False

    def emit(self, event: dict[str, Any], out: list[bytes]) -> None:
        event["sequence_number"] = self.sequence
        self.sequence += 1
        kind: str = event["type"]
        out.append(b"event: " + kind.encode() + b"\ndata: " + _encode(event) + b"\n\n")

    def chunk(self, index: int, delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": 0,
            "model": self.model,
            "choices": [{"index": index, "delta": delta, "finish_reason": finish}],
        }

    async def text(
        self, at: tuple[int, int], delta: dict[str, Any], finish: str | None, out: list[bytes]
    ) -> None:
        part = self.parts[at]
        for passed in await self.hooks.chunk(self.chunk(at[0], delta, finish)):
            for choice in passed.get("choices") or ():
                text = (
                    (choice.get("delta") or {}).get("content") if isinstance(choice, dict) else None
                )
                if isinstance(text, str) and text:
                    part.text += text
                    self.emit(
                        {
                            "type": "response.output_text.delta",
                            "item_id": part.item_id,
                            "output_index": at[0],
                            "content_index": at[1],
                            "delta": text,
                            "logprobs": [],
                        },
                        out,
                    )

    def rewrite_item(self, index: int, item: dict[str, Any]) -> None:
        content = item.get("content")
        if item.get("type") != "message" or not isinstance(content, list):
            return
        for position, block in enumerate(content):
            part = self.parts.get((index, position))
            if isinstance(block, dict) and block.get("type") == "output_text" and part:
                block["text"] = part.text

    async def event(self, raw: bytes, out: list[bytes]) -> None:
        event = sse_payload(raw)
        kind = event.get("type") if event is not None else None
        if event is None or not isinstance(kind, str):
            out.append(raw)
            return
        index = event.get("output_index")
        at = (index, event.get("content_index", 0)) if isinstance(index, int) else None
        if kind in ("response.created", "response.in_progress"):
            response = event.get("response") or {}
            self.snapshot = response
            self.id = str(response.get("id") or "")
            self.model = str(response.get("model") or "")
        elif kind == "response.output_item.added" and isinstance(index, int):
            self.items[index] = event.get("item") or {}
        elif kind == "response.content_part.added" and at is not None:
            if (event.get("part") or {}).get("type") == "output_text":
                self.parts[at] = _Part(str(event.get("item_id") or ""), at[1])
        elif kind == "response.output_text.delta" and at in self.parts:
            assert at is not None
            delta = event.get("delta")
            if isinstance(delta, str):
                await self.text(at, {"content": delta}, None, out)
                return
        elif kind == "response.output_text.done" and at in self.parts:
            assert at is not None
            await self.text(at, {}, "stop", out)
            event["text"] = self.parts[at].text
        elif kind == "response.content_part.done" and at in self.parts:
            assert at is not None
            part = event.get("part")
            if isinstance(part, dict):
                part["text"] = self.parts[at].text
        elif kind == "response.output_item.done" and isinstance(index, int):
            item = event.get("item")
            if isinstance(item, dict):
                self.rewrite_item(index, item)
                self.done[index] = item
            self.items.pop(index, None)
        elif kind in _FINAL and not self.ended:
            self.ended = True
            await self.tail(out)
            response = event.get("response")
            if isinstance(response, dict):
                for position, item in enumerate(response.get("output") or ()):
                    if isinstance(item, dict):
                        self.rewrite_item(position, item)
                self.hooks.final_response = response
        self.emit(event, out)

    async def tail(self, out: list[bytes]) -> None:
        """What the hooks release at the end of the stream, as one more message item."""
        texts = [
            text
            for passed in await self.hooks.stream_end()
            for choice in passed.get("choices") or ()
            if isinstance(choice, dict)
            and isinstance(text := (choice.get("delta") or {}).get("content"), str)
            and text
        ]
        if not texts:
            return
        index = max([*self.done, *self.items, -1]) + 1
        item_id = f"msg_tail_{self.id}"
        part = self.parts[index, 0] = _Part(item_id, 0)
        item = {"id": item_id, "type": "message", "status": "in_progress", "role": "assistant"}
        self.emit(
            {
                "type": "response.output_item.added",
                "output_index": index,
                "item": {**item, "content": []},
            },
            out,
        )
        empty = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
        where = {"item_id": item_id, "output_index": index, "content_index": 0}
        self.emit({"type": "response.content_part.added", **where, "part": empty}, out)
        for text in texts:
            part.text += text
            self.emit(
                {"type": "response.output_text.delta", **where, "delta": text, "logprobs": []}, out
            )
        self.close_item(index, {**item, "content": []}, out)

    def close_item(self, index: int, item: dict[str, Any], out: list[bytes]) -> None:
        """The done events of an item cut short (or made up), with its text parts."""
        content: list[dict[str, Any]] = []
        for (at_index, position), part in sorted(self.parts.items()):
            if at_index != index:
                continue
            where = {"item_id": part.item_id, "output_index": index, "content_index": position}
            block = {"type": "output_text", "text": part.text, "annotations": [], "logprobs": []}
            self.emit(
                {"type": "response.output_text.done", **where, "text": part.text, "logprobs": []},
                out,
            )
            self.emit({"type": "response.content_part.done", **where, "part": block}, out)
            content.append(block)
        final = {**item, "status": "completed", "content": content}
        self.emit({"type": "response.output_item.done", "output_index": index, "item": final}, out)
        self.done[index] = final

    def end(self, finish_reason: str, out: list[bytes]) -> None:
        for index, item in sorted(self.items.items()):
            if item.get("type") == "message":
                self.close_item(index, item, out)
        self.items.clear()
        reason = "max_output_tokens" if finish_reason == "length" else "content_filter"
        response = {
            **self.snapshot,
            "status": "incomplete",
            "incomplete_details": {"reason": reason},
            "output": [self.done[i] for i in sorted(self.done)],
        }
        self.hooks.final_response = response
        self.emit({"type": "response.incomplete", "response": response}, out)


async def native_responses(hooks: Hooks, stream: ChatStream) -> AsyncGenerator[list[bytes], None]:
    """`stream`'s framed Responses events through the hooks (see the module)."""
    state = _Native(hooks)
    async for batch in stream.batches():
        out: list[bytes] = []
        try:
            for raw in batch:
                await state.event(raw, out)
        except EndStream as end:
            state.end(end.finish_reason, out)
            yield out
            await stream.aclose()
            return
        if out:
            yield out
