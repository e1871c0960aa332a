"""What the mock provider's assistant says to a chat request: a tool call or text.

The rules, deterministic so that agent code can be tested offline:

- With function `tools` and `tool_choice` `auto` (the default when tools are sent),
  `required` or a named function, the reply calls one tool: the named one; otherwise
  the tool whose name appears first in the last user message; otherwise the first
  tool. Its arguments are a minimal instance of the tool's `parameters` schema.
- After a `tool` message, `auto` answers in text. `required` calls the first tool not
  yet called in the conversation (the last tool once every tool was called), so an
  agent whose final answer is itself a tool gets there. A named function is called
  every time, as `tool_choice` demands. `none` always answers in text.
- Text is `"echo: "` plus the last user (or tool) message; with `response_format`
  `json_schema` it is a minimal instance of that schema, with `json_object` the object
  `{"echo": <that message>}`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from .mock_schema import instance

__all__ = ["MockReply", "argument_fragments", "mock_reply", "text_of"]

_encode = msgspec.json.Encoder().encode
_TOKEN = re.compile(r"[^\w\s]+|\w+|\s+")


class MockReply(msgspec.Struct, frozen=True):
    """Either `content` (text) or one tool call (`tool_id`, `tool_name`, `arguments`)."""

    content: str | None = None
    tool_id: str | None = None
    tool_name: str | None = None
    arguments: str | None = None


def text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def argument_fragments(arguments: str) -> list[str]:
    """Token-sized pieces of a tool call's arguments, the way OpenAI streams them."""
    return _TOKEN.findall(arguments)


def mock_reply(body: Mapping[str, Any]) -> MockReply:
    messages = [m for m in body.get("messages") or [] if isinstance(m, Mapping)]
    call = _pick_tool(body, messages)
    if call is not None:
        name, parameters = call
        arguments = _encode(instance(parameters)).decode()
        seed = _encode([body.get("messages"), name])
        return MockReply(
            tool_id="call_" + hashlib.sha256(seed).hexdigest()[:24],
            tool_name=name,
            arguments=arguments,
        )
    return MockReply(content=_content(body, messages))


def _last_text(messages: Sequence[Mapping[str, Any]], roles: tuple[str, ...]) -> str:
    for message in reversed(messages):
        if message.get("role") in roles:
            return text_of(message.get("content"))
    return ""


def _content(body: Mapping[str, Any], messages: Sequence[Mapping[str, Any]]) -> str:
    last = _last_text(messages, ("user", "tool"))
    response_format = body.get("response_format")
    kind = response_format.get("type") if isinstance(response_format, Mapping) else None
    if kind == "json_schema":
        spec = response_format.get("json_schema")  # type: ignore[union-attr]
        schema = spec.get("schema") if isinstance(spec, Mapping) else None
        return _encode(instance(schema if isinstance(schema, Mapping) else {})).decode()
    if kind == "json_object":
        return _encode({"echo": last}).decode()
    return "echo: " + last


def _functions(tools: Any) -> dict[str, Any]:
    """Function tools by name (in order) mapped to their parameters schema."""
    found: dict[str, Any] = {}
    for tool in tools if isinstance(tools, list) else []:
        function = tool.get("function") if isinstance(tool, Mapping) else None
        if isinstance(function, Mapping) and isinstance(function.get("name"), str):
            parameters = function.get("parameters")
            found.setdefault(
                function["name"],
                parameters
                if isinstance(parameters, Mapping)
                else {"type": "object", "properties": {}},
            )
    return found


def _pick_tool(
    body: Mapping[str, Any], messages: Sequence[Mapping[str, Any]]
) -> tuple[str, Any] | None:
    tools = _functions(body.get("tools"))
    choice = body.get("tool_choice")
    mode = "auto"
    if isinstance(choice, str):
        mode = choice
    elif isinstance(choice, Mapping):
        if choice.get("type") == "allowed_tools":
            allowed = choice.get("allowed_tools")
            allowed = allowed if isinstance(allowed, Mapping) else {}
            mode = str(allowed.get("mode", "auto"))
            names = set(_functions(allowed.get("tools")))
            tools = {n: p for n, p in tools.items() if n in names}
        else:
            function = choice.get("function")
            name = function.get("name") if isinstance(function, Mapping) else None
            if isinstance(name, str) and name in tools:
                return name, tools[name]
    if not tools or mode not in ("auto", "required"):
        return None
    after_tool = bool(messages) and messages[-1].get("role") in ("tool", "function")
    if not after_tool:
        name = _named_in(_last_text(messages, ("user",)), tools) or next(iter(tools))
        return name, tools[name]
    if mode == "auto":
        return None
    called: set[str] = set()
    for message in messages:
        calls = message.get("tool_calls") if message.get("role") == "assistant" else None
        for call in calls if isinstance(calls, list) else []:
            function = call.get("function") if isinstance(call, Mapping) else None
            if isinstance(function, Mapping) and isinstance(function.get("name"), str):
                called.add(function["name"])
    name = next((n for n in tools if n not in called), list(tools)[-1])
    return name, tools[name]


def _named_in(text: str, tools: Mapping[str, Any]) -> str | None:
    """The tool whose name appears first in `text` (as a whole word)."""
    best: tuple[int, str] | None = None
    for name in tools:
        match = re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text)
        if match is not None and (best is None or match.start() < best[0]):
            best = (match.start(), name)
    return best[1] if best is not None else None
