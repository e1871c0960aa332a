"""Anthropic Messages requests to OpenAI chat requests, chat answers back to Messages.

Wire format: https://docs.anthropic.com/en/api/messages. Used when `/v1/messages` is
routed to a provider that is not Anthropic; an Anthropic upstream receives the
client's body unchanged (see `literllm.routing.inbound`). What a chat-completions
target cannot honour is refused with 400 rather than dropped; docs/protocols.md lists it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from ..errors import BadRequestError
from ..types import Usage

__all__ = [
    "chat_to_message",
    "message_id",
    "messages_to_chat",
    "stop_details",
    "stop_reason",
    "usage_object",
    "validate_messages",
]

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder()

_KNOWN = frozenset(
    {
        "model",
        "max_tokens",
        "messages",
        "system",
        "metadata",
        "stop_sequences",
        "stream",
        "temperature",
        "top_p",
        "top_k",
        "tools",
        "tool_choice",
        "thinking",
        "service_tier",
        # only tunes Anthropic's servers (clearing old tool results to save tokens): the
        # target gets the context as sent, the answer does not depend on it; dropped
        "context_management",
        "output_format",
        "output_config",
    }
)
_STOP_REASON = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}


class _Message(msgspec.Struct):
    role: str
    content: str | list[dict[str, Any]]


class _Shape(msgspec.Struct):
    model: str
    max_tokens: int
    messages: list[_Message]
    system: str | list[dict[str, Any]] | None = None
    stop_sequences: list[str] | None = None
    stream: bool | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None


class _CountShape(msgspec.Struct):
    model: str
    messages: list[_Message]


def _refuse(message: str, param: str) -> BadRequestError:
    return BadRequestError(message, param=param, code="not_translatable")


def validate_messages(body: Mapping[str, Any], *, count_tokens: bool = False) -> None:
    """The checks Anthropic makes before anything is spent (400 with the field's path)."""
    try:
        msgspec.convert(body, _CountShape if count_tokens else _Shape)
    except msgspec.ValidationError as exc:
        text = str(exc)
        raise BadRequestError(text, code="invalid_value") from None
    if not body["messages"]:
        raise BadRequestError("messages: at least one message is required", param="messages")
    if not count_tokens and body["max_tokens"] < 1:
        raise BadRequestError("max_tokens: must be at least 1", param="max_tokens")
    for index, message in enumerate(body["messages"]):
        if message["role"] not in ("user", "assistant"):
            raise BadRequestError(
                f"messages.{index}.role: must be 'user' or 'assistant' (system prompts go in "
                "the top-level 'system' field)",
                param=f"messages.{index}.role",
            )


def message_id() -> str:
    return "msg_" + uuid.uuid4().hex


# -- request: Anthropic Messages -> OpenAI chat ----------------------------------------


def _blocks(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [b for b in content if isinstance(b, dict)]


def _image(block: Mapping[str, Any], param: str) -> dict[str, Any]:
    source = block.get("source") or {}
    kind = source.get("type")
    if kind == "base64":
        url = f"data:{source.get('media_type')};base64,{source.get('data')}"
    elif kind == "url":
        url = str(source.get("url"))
    else:
        raise _refuse(f"{param}: image sources of type {kind!r} cannot be translated", param)
    return {"type": "image_url", "image_url": {"url": url}}


def _tool_result_text(block: Mapping[str, Any], param: str) -> tuple[str, list[dict[str, Any]]]:
    """A tool result's text, and its images (which chat tool messages cannot carry)."""
    content = block.get("content")
    images: list[dict[str, Any]] = []
    if content is None:
        text = ""
    elif isinstance(content, str):
        text = content
    else:
        parts: list[str] = []
        for i, inner in enumerate(_blocks(content)):
            if inner.get("type") == "text":
                parts.append(str(inner.get("text", "")))
            elif inner.get("type") == "image":
                images.append(_image(inner, f"{param}.content.{i}"))
            else:
                raise _refuse(
                    f"{param}.content.{i}: tool result blocks of type {inner.get('type')!r} "
                    "cannot be translated",
                    param,
                )
        text = "\n".join(parts)
    if block.get("is_error"):
        text = "Error: " + text
    return text, images


def _user(content: Any, index: int) -> list[dict[str, Any]]:
    """One Anthropic user turn: tool messages first (chat needs them right after the
    assistant's calls), then a user message with the rest."""
    tools: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    for b, block in enumerate(_blocks(content)):
        param = f"messages.{index}.content.{b}"
        kind = block.get("type")
        if kind == "text":
            parts.append({"type": "text", "text": block.get("text", "")})
        elif kind == "image":
            parts.append(_image(block, param))
        elif kind == "tool_result":
            text, images = _tool_result_text(block, param)
            tools.append(
                {"role": "tool", "tool_call_id": block.get("tool_use_id"), "content": text}
            )
            parts.extend(images)
        else:
            raise _refuse(f"{param}: content blocks of type {kind!r} cannot be translated", param)
    out = tools
    if parts:
        if all(p["type"] == "text" for p in parts):
            out.append({"role": "user", "content": "".join(p["text"] for p in parts)})
        else:
            out.append({"role": "user", "content": parts})
    return out


def _assistant(content: Any, index: int) -> dict[str, Any]:
    text: list[str] = []
    calls: list[dict[str, Any]] = []
    for b, block in enumerate(_blocks(content)):
        param = f"messages.{index}.content.{b}"
        kind = block.get("type")
        if kind == "text":
            text.append(str(block.get("text", "")))
        elif kind == "tool_use":
            calls.append(
                {
                    "id": block.get("id"),
                    "type": "function",
                    "function": {
                        "name": block.get("name"),
                        "arguments": _encode(block.get("input") or {}).decode(),
                    },
                }
            )
        elif kind in ("thinking", "redacted_thinking"):
            continue  # signed for Anthropic only; another model cannot use it
        else:
            raise _refuse(f"{param}: content blocks of type {kind!r} cannot be translated", param)
    message: dict[str, Any] = {"role": "assistant", "content": "".join(text) or None}
    if calls:
        message["tool_calls"] = calls
    return message


def _system(system: Any) -> dict[str, Any] | None:
    if system is None or system == "":
        return None
    if isinstance(system, str):
        return {"role": "system", "content": system}
    texts: list[str] = []
    for i, block in enumerate(system):
        if not isinstance(block, dict) or block.get("type") != "text":
            raise _refuse(f"system.{i}: only text blocks can be translated", "system")
        texts.append(str(block.get("text", "")))
    return {"role": "system", "content": "\n\n".join(texts)} if texts else None


def _tools(tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i, tool in enumerate(tools):
        if tool.get("type") not in (None, "custom"):
            raise _refuse(
                f"tools.{i}: Anthropic-defined tool {tool.get('type')!r} works only on an "
                "Anthropic upstream (server tools run there; bash, text editor and computer "
                "use follow schemas only Claude models know); declare it as a custom tool "
                "with an input_schema, or route this model to Anthropic",
                "tools",
            )
        function: dict[str, Any] = {
            "name": tool.get("name"),
            "parameters": tool.get("input_schema") or {"type": "object"},
        }
        if tool.get("description"):
            function["description"] = tool["description"]
        if isinstance(tool.get("strict"), bool):
            function["strict"] = tool["strict"]
        out.append({"type": "function", "function": function})
    return out


def _tool_choice(choice: Mapping[str, Any], chat: dict[str, Any]) -> None:
    kind = choice.get("type")
    if kind == "auto":
        chat["tool_choice"] = "auto"
    elif kind == "any":
        chat["tool_choice"] = "required"
    elif kind == "none":
        chat["tool_choice"] = "none"
    elif kind == "tool":
        chat["tool_choice"] = {"type": "function", "function": {"name": choice.get("name")}}
    else:
        raise BadRequestError(
            "tool_choice.type: must be 'auto', 'any', 'tool' or 'none'", param="tool_choice"
        )
    if choice.get("disable_parallel_tool_use") and kind != "none":
        chat["parallel_tool_calls"] = False


def _reasoning_effort(thinking: Any) -> str | None:
    # adaptive: the model decides how much to think; the target's default does that
    if not isinstance(thinking, dict) or thinking.get("type") in (None, "disabled", "adaptive"):
        return None
    if thinking.get("type") != "enabled":
        raise _refuse(f"thinking.type {thinking.get('type')!r} cannot be translated", "thinking")
    budget = thinking.get("budget_tokens") or 0
    return "low" if budget <= 4096 else "medium" if budget <= 16384 else "high"


def _response_format(body: Mapping[str, Any]) -> dict[str, Any] | None:
    """Structured outputs (`output_format`, or `output_config.format`) as chat's
    `response_format`; `output_config.effort` only tunes how hard the model works and
    is dropped."""
    fmt = body.get("output_format")
    param = "output_format"
    config = body.get("output_config")
    if config is not None:
        if not isinstance(config, dict):
            raise BadRequestError("output_config: must be an object", param="output_config")
        for name in config:
            if name not in ("format", "effort"):
                raise _refuse(f"output_config.{name}: cannot be translated", "output_config")
        if config.get("format") is not None:
            fmt, param = config["format"], "output_config"
    if fmt is None:
        return None
    if not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
        raise _refuse(f"{param}: only type 'json_schema' can be translated", param)
    schema = fmt.get("schema")
    if not isinstance(schema, dict):
        raise BadRequestError(f"{param}.schema: must be a JSON schema object", param=param)
    return {
        "type": "json_schema",
        "json_schema": {"name": "output", "schema": schema, "strict": True},
    }


def messages_to_chat(body: Mapping[str, Any]) -> dict[str, Any]:
    """An Anthropic Messages request as an OpenAI chat-completions request."""
    for name in body:
        if name not in _KNOWN:
            raise _refuse(
                f"{name}: this field has no equivalent outside Anthropic; route the model to "
                "an Anthropic upstream or remove it",
                name,
            )
    if body.get("top_k") is not None:
        raise _refuse(
            "top_k: only an Anthropic upstream takes top_k; remove it for this model", "top_k"
        )
    if body.get("service_tier") not in (None, "auto", "standard_only"):
        raise _refuse("service_tier: cannot be translated", "service_tier")
    messages: list[dict[str, Any]] = []
    system = _system(body.get("system"))
    if system is not None:
        messages.append(system)
    for index, message in enumerate(body["messages"]):
        if message["role"] == "user":
            messages.extend(_user(message["content"], index))
        else:
            assistant = _assistant(message["content"], index)
            if assistant["content"] is not None or "tool_calls" in assistant:
                messages.append(assistant)  # a turn of thinking only has nothing left
    chat: dict[str, Any] = {
        "model": body["model"],
        "messages": messages,
        "max_completion_tokens": body["max_tokens"],
    }
    for name in ("temperature", "top_p"):
        if body.get(name) is not None:
            chat[name] = body[name]
    if body.get("stop_sequences"):
        chat["stop"] = list(body["stop_sequences"])
    if body.get("tools"):
        chat["tools"] = _tools(body["tools"])
    if isinstance(body.get("tool_choice"), dict) and body.get("tools"):
        _tool_choice(body["tool_choice"], chat)
    effort = _reasoning_effort(body.get("thinking"))
    if effort is not None:
        chat["reasoning_effort"] = effort
    response_format = _response_format(body)
    if response_format is not None:
        chat["response_format"] = response_format
    metadata = body.get("metadata")
    if isinstance(metadata, dict) and isinstance(metadata.get("user_id"), str):
        chat["user"] = metadata["user_id"]
    if body.get("stream"):
        chat["stream"] = True
        chat["stream_options"] = {"include_usage": True}
    return chat


# -- response: OpenAI chat -> Anthropic Messages ----------------------------------------


def stop_reason(finish_reason: str | None) -> str:
    return _STOP_REASON.get(finish_reason or "stop", "end_turn")


def usage_object(usage: Usage | None) -> dict[str, Any]:
    """Anthropic's usage: `input_tokens` excludes cache reads and writes."""
    if usage is None:
        return {
            "input_tokens": 0,
            "output_tokens": 0,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        }
    return {
        "input_tokens": max(
            0, usage.prompt_tokens - usage.cached_tokens - usage.cache_write_tokens
        ),
        "output_tokens": usage.completion_tokens,
        "cache_creation_input_tokens": usage.cache_write_tokens,
        "cache_read_input_tokens": usage.cached_tokens,
    }


def _arguments(raw: Any) -> Any:
    if not isinstance(raw, str):
        return raw if isinstance(raw, dict) else {}
    if not raw.strip():
        return {}
    try:
        value = _decode.decode(raw)
    except msgspec.DecodeError:
        return {"_raw_arguments": raw}  # the model wrote invalid JSON; keep it visible
    return value if isinstance(value, dict) else {"value": value}


def stop_details(
    reason: str, stop_sequence: str | None, requested: Sequence[str] | None
) -> tuple[str, str | None]:
    """(`stop_reason`, `stop_sequence`): `stop_sequence` when the provider said a stop
    sequence ended the answer (`stop_sequence` not None); the matched string is the one
    it named, else the only one requested, else unknown (None)."""
    if reason != "end_turn" or stop_sequence is None:
        return reason, None
    if stop_sequence:
        return "stop_sequence", stop_sequence
    return "stop_sequence", requested[0] if requested and len(requested) == 1 else None


def chat_to_message(
    chat: Mapping[str, Any],
    usage: Usage | None,
    *,
    model: str,
    stop_sequence: str | None = None,
    requested: Sequence[str] | None = None,
) -> dict[str, Any]:
    """An OpenAI chat completion as an Anthropic message (first choice). `stop_sequence`
    and `requested` (the request's `stop_sequences`): see `stop_details`."""
    choices = chat.get("choices") or [{}]
    choice = choices[0] if isinstance(choices[0], dict) else {}
    message = choice.get("message") or {}
    content: list[dict[str, Any]] = []
    reasoning = message.get("reasoning_content")
    if isinstance(reasoning, str) and reasoning:
        content.append({"type": "thinking", "thinking": reasoning, "signature": ""})
    text = message.get("content")
    if isinstance(text, list):
        text = "".join(p.get("text", "") for p in text if isinstance(p, dict))
    if text:
        content.append({"type": "text", "text": text})
    refusal = message.get("refusal")
    if isinstance(refusal, str) and refusal and not text:
        content.append({"type": "text", "text": refusal})
    for call in message.get("tool_calls") or ():
        function = call.get("function") or {}
        content.append(
            {
                "type": "tool_use",
                "id": call.get("id") or "toolu_" + uuid.uuid4().hex[:24],
                "name": function.get("name"),
                "input": _arguments(function.get("arguments")),
            }
        )
    reason = stop_reason(choice.get("finish_reason"))
    if reason == "end_turn" and any(b["type"] == "tool_use" for b in content):
        reason = "tool_use"
    reason, matched = stop_details(reason, stop_sequence, requested)
    chat_id = chat.get("id")
    return {
        "id": "msg_" + chat_id if isinstance(chat_id, str) and chat_id else message_id(),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": reason,
        "stop_sequence": matched,
        "usage": usage_object(usage),
    }
