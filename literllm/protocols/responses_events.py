"""OpenAI chat-completion chunks to Responses streaming events, as they arrive.

Sequence (https://platform.openai.com/docs/api-reference/responses-streaming):
`response.created`, `response.in_progress`; per text item `response.output_item.added`,
`response.content_part.added`, `response.output_text.delta`s, `response.output_text.done`,
`response.content_part.done`, `response.output_item.done`; per function call
`response.output_item.added`, `response.function_call_arguments.delta`s,
`response.function_call_arguments.done`, `response.output_item.done`; then
`response.completed` (or `response.incomplete`). Every event carries a
`sequence_number` counted from 0; events come framed (`event:` and `data:` lines).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from ..errors import LiterLLMError
from ..types import Usage
from .responses import call_item, message_item, new_id, response_object

__all__ = ["ResponsesEventEncoder", "error_event"]

_encode = msgspec.json.Encoder().encode


def error_event(error: LiterLLMError, sequence_number: int) -> bytes:
    payload = {
        "type": "error",
        "code": error.code or error.error_type,
        "message": error.message,
        "param": error.param,
        "sequence_number": sequence_number,
    }
    return b"event: error\ndata: " + _encode(payload) + b"\n\n"


class _Open:
    """The output item being streamed."""

    __slots__ = ("call_id", "index", "item_id", "kind", "name", "text")

    def __init__(self, kind: str, index: int, item_id: str) -> None:
        self.kind = kind
        self.index = index
        self.item_id = item_id
        self.text = ""
        self.call_id = ""
        self.name = ""


class ResponsesEventEncoder:
    """Feed decoded chat chunks in order; `finish` once the upstream stream ended.
    `response` is the final Response object afterwards (for storage)."""

    def __init__(
        self, request: Mapping[str, Any], *, response_id: str, created_at: int, model: str
    ) -> None:
        self._request = request
        self._id = response_id
        self._created_at = created_at
        self._model = model
        self._sequence = 0
        self._started = False
        self._open: _Open | None = None
        self._calls: dict[int, _Open] = {}
        self._output: list[dict[str, Any]] = []
        self._finish_reason: str | None = None
        self.usage: Usage | None = None
        self.response: dict[str, Any] | None = None

    @property
    def sequence_number(self) -> int:
        return self._sequence

    def _event(self, out: list[bytes], kind: str, **fields: Any) -> None:
        payload = {"type": kind, **fields, "sequence_number": self._sequence}
        self._sequence += 1
        out.append(b"event: " + kind.encode() + b"\ndata: " + _encode(payload) + b"\n\n")

    def _snapshot(self, status: str, output: list[dict[str, Any]]) -> dict[str, Any]:
        return response_object(
            self._request,
            response_id=self._id,
            created_at=self._created_at,
            model=self._model,
            status=status,
            output=output,
            usage=self.usage,
            finish_reason=self._finish_reason,
        )

    def _start(self, chunk: Mapping[str, Any], out: list[bytes]) -> None:
        self._started = True
        if isinstance(chunk.get("model"), str) and chunk["model"]:
            self._model = chunk["model"]
        response = self._snapshot("in_progress", [])
        self._event(out, "response.created", response=response)
        self._event(out, "response.in_progress", response=response)

    def _close_item(self, out: list[bytes]) -> None:
        current = self._open
        if current is None:
            return
        self._open = None
        if current.kind == "message":
            part = {"type": "output_text", "text": current.text, "annotations": [], "logprobs": []}
            common = {"item_id": current.item_id, "output_index": current.index, "content_index": 0}
            self._event(out, "response.output_text.done", **common, text=current.text, logprobs=[])
            self._event(out, "response.content_part.done", **common, part=part)
            item = message_item(current.text, current.item_id)
        else:
            self._event(
                out,
                "response.function_call_arguments.done",
                item_id=current.item_id,
                output_index=current.index,
                name=current.name,
                arguments=current.text,
            )
            item = call_item(current.call_id, current.name, current.text, current.item_id)
        self._output.append(item)
        self._event(out, "response.output_item.done", output_index=current.index, item=item)

    def _open_message(self, out: list[bytes]) -> _Open:
        self._close_item(out)
        current = _Open("message", len(self._output), new_id("msg_"))
        self._open = current
        item = message_item("", current.item_id, "in_progress")
        item["content"] = []
        self._event(out, "response.output_item.added", output_index=current.index, item=item)
        self._event(
            out,
            "response.content_part.added",
            item_id=current.item_id,
            output_index=current.index,
            content_index=0,
            part={"type": "output_text", "text": "", "annotations": [], "logprobs": []},
        )
        return current

    def feed(self, chunk: Mapping[str, Any]) -> list[bytes]:
        out: list[bytes] = []
        if not self._started:
            self._start(chunk, out)
        for choice in chunk.get("choices") or ():
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            text = delta.get("content")
            if isinstance(text, str) and text:
                current = self._open
                if current is None or current.kind != "message":
                    current = self._open_message(out)
                current.text += text
                self._event(
                    out,
                    "response.output_text.delta",
                    item_id=current.item_id,
                    output_index=current.index,
                    content_index=0,
                    delta=text,
                    logprobs=[],
                )
            for call in delta.get("tool_calls") or ():
                self._tool_call(call, out)
            if choice.get("finish_reason"):
                self._finish_reason = choice["finish_reason"]
        return out

    def _tool_call(self, call: Mapping[str, Any], out: list[bytes]) -> None:
        position = int(call.get("index", 0))
        function = call.get("function") or {}
        current = self._calls.get(position)
        if current is None:
            self._close_item(out)
            current = _Open("function_call", len(self._output), new_id("fc_"))
            current.call_id = call.get("id") or new_id("call_")
            current.name = function.get("name") or ""
            self._calls[position] = current
            self._open = current
            item = call_item(current.call_id, current.name, "", current.item_id, "in_progress")
            self._event(out, "response.output_item.added", output_index=current.index, item=item)
        arguments = function.get("arguments")
        if isinstance(arguments, str) and arguments:
            current.text += arguments
            self._event(
                out,
                "response.function_call_arguments.delta",
                item_id=current.item_id,
                output_index=current.index,
                delta=arguments,
            )

    def finish(self, usage: Usage | None = None, stop_sequence: str | None = None) -> list[bytes]:
        if self.response is not None:
            return []
        out: list[bytes] = []
        if not self._started:
            self._start({}, out)
        self._close_item(out)
        if usage is not None:
            self.usage = usage
        response = self._snapshot("completed", self._output)
        self.response = response
        kind = "response.completed" if response["status"] == "completed" else "response.incomplete"
        self._event(out, kind, response=response)
        return out
