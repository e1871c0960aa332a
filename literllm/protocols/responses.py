"""OpenAI Responses requests to chat requests, chat answers back to Response objects.

Wire format: https://platform.openai.com/docs/api-reference/responses. The gateway
keeps conversation state itself (`store`, `previous_response_id`), so `history` is
the earlier turns' input and output items, already in item form. What chat
completions cannot carry is refused with 400; docs/protocols.md lists it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from ..errors import BadRequestError
from ..types import Usage

__all__ = [
    "chat_to_output",
    "input_items",
    "native_history",
    "new_id",
    "response_object",
    "responses_to_chat",
    "usage_object",
    "validate_responses",
    "with_history",
]

_encode = msgspec.json.Encoder().encode

_KNOWN = frozenset(
    {
        "model",
        "input",
        "instructions",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "text",
        "reasoning",
        "max_output_tokens",
        "temperature",
        "top_p",
        "store",
        "previous_response_id",
        "metadata",
        "user",
        "safety_identifier",
        "stream",
        "stream_options",
        "truncation",
        "include",
        "service_tier",
        "prompt_cache_key",
        "background",
    }
)


class _Shape(msgspec.Struct):
    model: str
    input: str | list[dict[str, Any]] | None = None
    instructions: str | None = None
    tools: list[dict[str, Any]] | None = None
    max_output_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    store: bool | None = None
    previous_response_id: str | None = None
    stream: bool | None = None
    metadata: dict[str, str] | None = None
    parallel_tool_calls: bool | None = None


def new_id(prefix: str) -> str:
    return prefix + uuid.uuid4().hex


def _refuse(message: str, param: str) -> BadRequestError:
    return BadRequestError(message, param=param, code="not_translatable")


def validate_responses(body: Mapping[str, Any]) -> None:
    """What every target needs (a native one included); what only a translation
    cannot carry is refused by `responses_to_chat`."""
    try:
        msgspec.convert(body, _Shape)
    except msgspec.ValidationError as exc:
        raise BadRequestError(str(exc), code="invalid_value") from None
    if not body["model"]:
        raise BadRequestError("'model' must not be empty", param="model", code="invalid_value")
    if body.get("input") in (None, "", []) and not body.get("previous_response_id"):
        raise BadRequestError("'input' is required", param="input", code="missing_required_field")
    limit = body.get("max_output_tokens")
    if limit is not None and limit < 1:
        raise BadRequestError(
            "'max_output_tokens' must be at least 1",
            param="max_output_tokens",
            code="invalid_value",
        )
    if body.get("background"):
        raise _refuse(
            "background responses are not supported; send background: false", "background"
        )
    if body.get("conversation") is not None:
        raise _refuse(
            "'conversation' is not supported: the gateway keeps conversations itself; "
            "continue one with previous_response_id",
            "conversation",
        )
    raw = body.get("input")
    for index, item in enumerate(raw if isinstance(raw, list) else ()):
        if item.get("type") == "item_reference":
            raise _refuse(
                f"input.{index}: item references are not supported; send the item itself "
                "or continue with previous_response_id",
                f"input.{index}",
            )


def _check_translatable(body: Mapping[str, Any]) -> None:
    for name in body:
        if name not in _KNOWN:
            raise _refuse(
                f"'{name}' cannot be translated for this model's provider (only OpenAI "
                "deployments take the Responses API natively)",
                name,
            )
    if body.get("truncation") not in (None, "disabled"):
        raise _refuse("only truncation 'disabled' can be translated", "truncation")


def input_items(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The request's `input` as items with ids, as `input_items` lists them."""
    raw = body.get("input")
    if raw is None:
        return []
    if isinstance(raw, str):
        raw = [{"role": "user", "content": raw}]
    items: list[dict[str, Any]] = []
    for item in raw:
        item = dict(item)
        kind = item.setdefault("type", "message")
        if kind == "message":
            content = item.get("content")
            if isinstance(content, str):
                part = "output_text" if item.get("role") == "assistant" else "input_text"
                item["content"] = [{"type": part, "text": content}]
            item.setdefault("id", new_id("msg_"))
            item.setdefault("status", "completed")
        elif kind == "function_call":
            item.setdefault("id", new_id("fc_"))
            item.setdefault("status", "completed")
        elif kind == "function_call_output":
            item.setdefault("id", new_id("fco_"))
            item.setdefault("status", "completed")
        items.append(item)
    return items


def with_history(body: dict[str, Any], history: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The request with the earlier turns' items (`previous_response_id`'s conversation)
    before its own input: what hooks see, and what goes upstream when the upstream
    cannot continue the conversation itself. `body` itself when there is no history."""
    if not history:
        return body
    raw = body.get("input")
    own: list[Any] = (
        [{"type": "message", "role": "user", "content": raw}]
        if isinstance(raw, str)
        else list(raw or ())
    )
    return {**body, "input": [*history, *own]}


def native_history(items: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Earlier turns' items as input for an upstream that did not store them: messages,
    function calls and their outputs, without the ids another upstream (or the gateway)
    gave them; reasoning and built-in tool calls (bound to the upstream and model that
    made them) are left out."""
    out: list[dict[str, Any]] = []
    for item in items:
        kind = item.get("type", "message")
        if kind == "message":
            content = item.get("content")
            if item.get("role") == "assistant" and isinstance(content, list):
                content = "".join(
                    str(p.get("text") or p.get("refusal") or "")
                    for p in content
                    if isinstance(p, dict)
                )
            out.append({"type": "message", "role": item.get("role"), "content": content})
        elif kind == "function_call":
            out.append(
                {
                    "type": "function_call",
                    "call_id": item.get("call_id"),
                    "name": item.get("name"),
                    "arguments": item.get("arguments") or "{}",
                }
            )
        elif kind == "function_call_output":
            out.append(
                {
                    "type": "function_call_output",
                    "call_id": item.get("call_id"),
                    "output": item.get("output"),
                }
            )
    return out


# -- request: Responses -> chat ----------------------------------------------------------


def _part(part: Mapping[str, Any], param: str) -> dict[str, Any]:
    kind = part.get("type")
    if kind in ("input_text", "output_text", "text"):
        return {"type": "text", "text": part.get("text", "")}
    if kind == "input_image":
        url = part.get("image_url")
        if not isinstance(url, str) or not url:
            raise _refuse(f"{param}: images by file_id cannot be translated", param)
        image: dict[str, Any] = {"url": url}
        if part.get("detail") in ("low", "high"):
            image["detail"] = part["detail"]
        return {"type": "image_url", "image_url": image}
    if kind == "refusal":
        return {"type": "text", "text": part.get("refusal", "")}
    raise _refuse(f"{param}: content of type {kind!r} cannot be translated", param)


def _content(content: Any, param: str) -> str | list[dict[str, Any]]:
    if isinstance(content, str):
        return content
    parts = [_part(p, f"{param}.{i}") for i, p in enumerate(content or ())]
    if all(p["type"] == "text" for p in parts):
        return "".join(p["text"] for p in parts)
    return parts


_PLAIN_ITEMS = frozenset({"message", "function_call", "function_call_output", "reasoning"})


def _messages(items: Sequence[Mapping[str, Any]], earlier: int = 0) -> list[dict[str, Any]]:
    """`items[:earlier]` are earlier turns' items: built-in tool calls an OpenAI
    deployment made there (web searches...) are left out, their results being in the
    answer's text; in the request's own input they are refused."""
    out: list[dict[str, Any]] = []
    for position, item in enumerate(items):
        index = position - earlier
        param = f"input.{index}" if index >= 0 else "previous_response_id"
        kind = item.get("type", "message")
        if index < 0 and kind not in _PLAIN_ITEMS:
            continue
        if kind == "message":
            role = item.get("role")
            if role == "developer":
                role = "system"
            if role not in ("user", "assistant", "system"):
                raise BadRequestError(f"{param}.role: unknown role {role!r}", param=param)
            content = _content(item.get("content"), f"{param}.content")
            if role == "assistant":
                content = (
                    content
                    if isinstance(content, str)
                    else "".join(p.get("text", "") for p in content)
                )
            out.append({"role": role, "content": content})
        elif kind == "function_call":
            call = {
                "id": item.get("call_id"),
                "type": "function",
                "function": {"name": item.get("name"), "arguments": item.get("arguments") or "{}"},
            }
            last = out[-1] if out else None
            if last is not None and last["role"] == "assistant" and last.get("tool_calls"):
                last["tool_calls"].append(call)
            elif last is not None and last["role"] == "assistant" and "tool_calls" not in last:
                last["tool_calls"] = [call]
            else:
                out.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif kind == "function_call_output":
            output = item.get("output")
            if not isinstance(output, str):
                output = _content(output, f"{param}.output")
                if not isinstance(output, str):
                    raise _refuse(f"{param}.output: only text tool output can be translated", param)
            out.append({"role": "tool", "tool_call_id": item.get("call_id"), "content": output})
        elif kind == "reasoning":
            continue  # the earlier model's reasoning: only that model can use it
        else:
            raise _refuse(f"{param}: items of type {kind!r} cannot be translated", param)
    for message in out:
        if message["role"] == "assistant" and message.get("content") == "":
            message["content"] = None
    return [m for m in out if m["content"] is not None or m.get("tool_calls")]


def _tools(tools: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i, tool in enumerate(tools):
        if tool.get("type") != "function":
            raise _refuse(
                f"tools.{i}: built-in tool {tool.get('type')!r} cannot be translated; "
                "only function tools can",
                "tools",
            )
        function: dict[str, Any] = {
            "name": tool.get("name"),
            "parameters": tool.get("parameters") or {"type": "object", "properties": {}},
        }
        if tool.get("description"):
            function["description"] = tool["description"]
        if tool.get("strict") is not None:
            function["strict"] = tool["strict"]
        out.append({"type": "function", "function": function})
    return out


def _tool_choice(choice: Any) -> Any:
    if choice in ("auto", "none", "required"):
        return choice
    if isinstance(choice, dict) and choice.get("type") == "function":
        return {"type": "function", "function": {"name": choice.get("name")}}
    raise _refuse(
        "tool_choice: only auto, none, required or a function can be translated", "tool_choice"
    )


def _response_format(text: Any) -> dict[str, Any] | None:
    if not isinstance(text, dict) or not isinstance(text.get("format"), dict):
        return None
    fmt = text["format"]
    kind = fmt.get("type")
    if kind in (None, "text"):
        return None
    if kind == "json_object":
        return {"type": "json_object"}
    if kind == "json_schema":
        schema: dict[str, Any] = {
            "name": fmt.get("name") or "response",
            "schema": fmt.get("schema"),
        }
        for name in ("strict", "description"):
            if fmt.get(name) is not None:
                schema[name] = fmt[name]
        return {"type": "json_schema", "json_schema": schema}
    raise _refuse(f"text.format.type {kind!r} cannot be translated", "text")


def responses_to_chat(
    body: Mapping[str, Any], history: Sequence[Mapping[str, Any]] = ()
) -> dict[str, Any]:
    """A Responses request (after earlier turns' items in `history`) as a chat request;
    what chat completions cannot carry is refused with 400 (`not_translatable`)."""
    _check_translatable(body)
    messages: list[dict[str, Any]] = []
    if body.get("instructions"):
        messages.append({"role": "system", "content": body["instructions"]})
    messages.extend(_messages([*history, *input_items(body)], len(history)))
    chat: dict[str, Any] = {"model": body["model"], "messages": messages}
    if body.get("max_output_tokens") is not None:
        chat["max_completion_tokens"] = body["max_output_tokens"]
    for name in ("temperature", "top_p", "parallel_tool_calls", "service_tier"):
        if body.get(name) is not None:
            chat[name] = body[name]
    if body.get("tools"):
        chat["tools"] = _tools(body["tools"])
        if body.get("tool_choice") is not None:
            chat["tool_choice"] = _tool_choice(body["tool_choice"])
    response_format = _response_format(body.get("text"))
    if response_format is not None:
        chat["response_format"] = response_format
    reasoning = body.get("reasoning")
    if isinstance(reasoning, dict) and reasoning.get("effort"):
        chat["reasoning_effort"] = reasoning["effort"]
    user = body.get("safety_identifier") or body.get("user")
    if isinstance(user, str) and user:
        chat["user"] = user
    if body.get("stream"):
        chat["stream"] = True
        chat["stream_options"] = {"include_usage": True}
    return chat


# -- answer: chat -> Response ------------------------------------------------------------


def usage_object(usage: Usage | None) -> dict[str, Any]:
    usage = usage or Usage()
    return {
        "input_tokens": usage.prompt_tokens,
        "input_tokens_details": {
            "cached_tokens": usage.cached_tokens,
            "cache_write_tokens": usage.cache_write_tokens,
        },
        "output_tokens": usage.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
        "total_tokens": usage.total_tokens or usage.prompt_tokens + usage.completion_tokens,
    }


def message_item(text: str, item_id: str, status: str = "completed") -> dict[str, Any]:
    content = [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}]
    return {
        "id": item_id,
        "type": "message",
        "role": "assistant",
        "status": status,
        "content": content,
    }


def call_item(
    call_id: str, name: str, arguments: str, item_id: str, status: str = "completed"
) -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "function_call",
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
        "status": status,
    }


def chat_to_output(chat: Mapping[str, Any]) -> tuple[list[dict[str, Any]], str | None]:
    """The output items of a chat completion's first choice, and its finish reason."""
    choices = chat.get("choices") or [{}]
    choice = choices[0] if isinstance(choices[0], dict) else {}
    message = choice.get("message") or {}
    output: list[dict[str, Any]] = []
    reasoning = message.get("reasoning_content")
    if isinstance(reasoning, str) and reasoning:
        output.append(
            {
                "id": new_id("rs_"),
                "type": "reasoning",
                "summary": [],
                "content": [{"type": "reasoning_text", "text": reasoning}],
            }
        )
    text = message.get("content")
    if isinstance(text, list):
        text = "".join(p.get("text", "") for p in text if isinstance(p, dict))
    if isinstance(text, str) and text:
        output.append(message_item(text, new_id("msg_")))
    for call in message.get("tool_calls") or ():
        function = call.get("function") or {}
        output.append(
            call_item(
                call.get("id") or new_id("call_"),
                function.get("name") or "",
                function.get("arguments") or "",
                new_id("fc_"),
            )
        )
    return output, choice.get("finish_reason")


def response_object(
    request: Mapping[str, Any],
    *,
    response_id: str,
    created_at: int | None = None,
    model: str,
    status: str,
    output: list[dict[str, Any]],
    usage: Usage | None,
    finish_reason: str | None = None,
) -> dict[str, Any]:
    """A Response object echoing the request's settings, as OpenAI's API returns it."""
    incomplete = None
    if status == "completed" and finish_reason == "length":
        status, incomplete = "incomplete", {"reason": "max_output_tokens"}
    elif status == "completed" and finish_reason == "content_filter":
        status, incomplete = "incomplete", {"reason": "content_filter"}
    text: dict[str, Any] = request.get("text") or {}
    reasoning: dict[str, Any] = request.get("reasoning") or {}
    now = int(time.time())
    response: dict[str, Any] = {
        "id": response_id,
        "object": "response",
        "created_at": created_at if created_at is not None else now,
        "status": status,
        "completed_at": now if status == "completed" else None,
        "error": None,
        "incomplete_details": incomplete,
        "instructions": request.get("instructions"),
        "max_output_tokens": request.get("max_output_tokens"),
        "model": model,
        "output": output,
        "parallel_tool_calls": request.get("parallel_tool_calls", True),
        "previous_response_id": request.get("previous_response_id"),
        "reasoning": {
            "effort": reasoning.get("effort"),
            "summary": reasoning.get("summary"),
        },
        "store": request.get("store", True),
        "temperature": request.get("temperature", 1.0),
        "text": {"format": text.get("format") or {"type": "text"}},
        "tool_choice": request.get("tool_choice", "auto"),
        "tools": [_tool_echo(t) for t in request.get("tools") or ()],
        "top_p": request.get("top_p", 1.0),
        "truncation": "disabled",
        "metadata": request.get("metadata") or {},
    }
    if status != "in_progress":
        response["usage"] = usage_object(usage)
    for name in ("user", "safety_identifier", "prompt_cache_key", "service_tier"):
        if isinstance(request.get(name), str):
            response[name] = request[name]
    return response


def _tool_echo(tool: Mapping[str, Any]) -> dict[str, Any]:
    echo = dict(tool)
    if echo.get("type") == "function":
        echo.setdefault("description", None)
        echo.setdefault("parameters", None)
        echo.setdefault("strict", True)
    return echo


def encode(value: Any) -> bytes:
    return _encode(value)
