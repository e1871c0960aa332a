"""OpenAI's Responses API, in-process, for the mock upstream: `POST /responses` as JSON
or as events, following the documented wire format
(https://platform.openai.com/docs/api-reference/responses).

The answer is the mock's chat answer (see `mock_reply`) as output items. Like OpenAI,
a response is stored unless `store: false`, so `previous_response_id` continues from
it (an unknown id answers 404 `previous_response_not_found`). What is stored lives in
the `MockResponses` object (bounded: the oldest go first), never in the module.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import msgspec

from ..errors import BadRequestError
from ..protocols.responses import (
    chat_to_output,
    input_items,
    response_object,
    responses_to_chat,
)
from ..protocols.responses_events import ResponsesEventEncoder
from ..types import Usage
from .mock import chat_chunks, chat_completion

__all__ = ["MockResponses"]

_PLAIN = frozenset({"message", "function_call", "function_call_output", "reasoning"})
_CHAT_FIELDS = (
    "model",
    "instructions",
    "tool_choice",
    "text",
    "max_output_tokens",
    "temperature",
    "top_p",
)


def _error(message: str, param: str | None, code: str | None) -> dict[str, Any]:
    return {
        "error": {
            "message": message,
            "type": "invalid_request_error",
            "param": param,
            "code": code,
        }
    }


def _status(error: Mapping[str, Any]) -> int:
    return 404 if error["error"]["code"] == "previous_response_not_found" else 400


def _usage(raw: Mapping[str, Any]) -> Usage:
    prompt = int(raw.get("prompt_tokens") or 0)
    completion = int(raw.get("completion_tokens") or 0)
    return Usage(
        prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion
    )


class MockResponses:
    def __init__(self, limit: int = 1024) -> None:
        self._limit = limit
        self._stored: OrderedDict[str, list[dict[str, Any]]] = OrderedDict()

    def _prepare(
        self, body: Mapping[str, Any]
    ) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]] | dict[str, Any]:
        """The chat request the mock answers, the conversation before and the input
        items; or an error body."""
        previous = body.get("previous_response_id")
        history: list[dict[str, Any]] = []
        if previous is not None:
            if previous not in self._stored:
                return _error(
                    f"Previous response with id '{previous}' not found.",
                    "previous_response_id",
                    "previous_response_not_found",
                )
            history = self._stored[previous]
        items = input_items(body)
        plain = [i for i in items if i.get("type") in _PLAIN]
        earlier = [i for i in history if i.get("type") in _PLAIN]
        request: dict[str, Any] = {k: body[k] for k in _CHAT_FIELDS if k in body}
        tools = [t for t in body.get("tools") or () if t.get("type") == "function"]
        if tools:
            request["tools"] = tools
        else:
            request.pop("tool_choice", None)
        request["input"] = plain
        try:
            return responses_to_chat(request, earlier), history, items
        except BadRequestError as error:
            return _error(error.message, error.param, error.code)

    def _keep(
        self,
        body: Mapping[str, Any],
        response: Mapping[str, Any],
        history: list[dict[str, Any]],
        items: list[dict[str, Any]],
    ) -> None:
        if body.get("store") is False:
            return
        self._stored[response["id"]] = [*history, *items, *response["output"]]
        while len(self._stored) > self._limit:
            self._stored.popitem(last=False)

    def create(self, body: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        prepared = self._prepare(body)
        if isinstance(prepared, dict):
            return _status(prepared), prepared
        chat, history, items = prepared
        answer = chat_completion(chat)
        output, finish = chat_to_output(answer)
        response = response_object(
            body,
            response_id="resp_" + secrets.token_hex(24),
            created_at=int(time.time()),
            model=str(body.get("model", "mock")),
            status="completed",
            output=output,
            usage=_usage(answer["usage"]),
            finish_reason=finish,
        )
        self._keep(body, response, history, items)
        return 200, response

    def events(self, body: Mapping[str, Any]) -> tuple[int, list[bytes]]:
        """The same answer as `create`, as framed events; or a status and error body."""
        prepared = self._prepare(body)
        if isinstance(prepared, dict):
            return _status(prepared), [msgspec.json.encode(prepared)]
        chat, history, items = prepared
        chat["stream_options"] = {"include_usage": True}
        encoder = ResponsesEventEncoder(
            body,
            response_id="resp_" + secrets.token_hex(24),
            created_at=int(time.time()),
            model=str(body.get("model", "mock")),
        )
        out: list[bytes] = []
        usage: Usage | None = None
        for chunk in chat_chunks(chat):
            if chunk.get("usage"):
                usage = _usage(chunk["usage"])
            out.extend(encoder.feed(chunk))
        out.extend(encoder.finish(usage))
        assert encoder.response is not None
        self._keep(body, encoder.response, history, items)
        return 200, out
