"""OpenAI chat requests to Gemini `GenerateContentRequest` bodies (Gemini API and Vertex AI).

Wire format: https://ai.google.dev/api/generate-content and
https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/inference.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Mapping
from typing import Any

import msgspec

from ..errors import BadRequestError
from .openai_shape import (
    content_parts,
    image_url_of,
    parse_data_url,
    reject_params,
    stop_list,
    text_of,
    tool_names_by_id,
)

__all__ = ["build_generate_content", "gemini_schema"]

# The OpenAPI subset Gemini's `Schema` object accepts; other JSON Schema keys are dropped.
_SCHEMA_KEYS = frozenset(
    {
        "type",
        "format",
        "title",
        "description",
        "nullable",
        "enum",
        "maxItems",
        "minItems",
        "properties",
        "required",
        "minProperties",
        "maxProperties",
        "minLength",
        "maxLength",
        "pattern",
        "example",
        "anyOf",
        "propertyOrdering",
        "default",
        "items",
        "minimum",
        "maximum",
    }
)
_UNSUPPORTED = ("logprobs", "top_logprobs", "logit_bias", "audio", "prediction")


def gemini_schema(schema: Any, defs: Mapping[str, Any] | None = None) -> Any:
    """A JSON Schema rewritten into Gemini's `Schema` subset: local `$ref`s inlined,
    `type: [x, "null"]` made `nullable`, `const` made a one-value `enum`."""
    if not isinstance(schema, dict):
        return schema
    if defs is None:
        defs = {**schema.get("definitions", {}), **schema.get("$defs", {})}
    ref = schema.get("$ref")
    if isinstance(ref, str):
        name = ref.rsplit("/", 1)[-1]
        if name not in defs:
            raise BadRequestError(f"schema reference {ref!r} cannot be resolved", param="tools")
        return gemini_schema(
            {**defs[name], **{k: v for k, v in schema.items() if k != "$ref"}}, defs
        )
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "const":
            out["enum"] = [value]
        elif key == "type" and isinstance(value, list):
            kinds = [k for k in value if k != "null"]
            if len(kinds) != len(value):
                out["nullable"] = True
            out["type"] = kinds[0] if len(kinds) == 1 else value
        elif key not in _SCHEMA_KEYS:
            continue
        elif key == "properties" and isinstance(value, dict):
            out[key] = {name: gemini_schema(sub, defs) for name, sub in value.items()}
        elif key == "items":
            out[key] = gemini_schema(value, defs)
        elif key == "anyOf" and isinstance(value, list):
            out[key] = [gemini_schema(sub, defs) for sub in value]
        else:
            out[key] = value
    return out


def _part(part: Mapping[str, Any]) -> dict[str, Any]:
    kind = part.get("type")
    if kind == "text":
        return {"text": part.get("text", "")}
    if kind == "image_url":
        url = image_url_of(part)
        data_url = parse_data_url(url)
        if data_url is not None:
            return {"inlineData": {"mimeType": data_url[0], "data": data_url[1]}}
        mime = mimetypes.guess_type(url.split("?", 1)[0])[0] or "image/jpeg"
        return {"fileData": {"mimeType": mime, "fileUri": url}}
    raise BadRequestError(
        f"Gemini does not accept content parts of type {kind!r} here", param="messages"
    )


def _function_call(call: Mapping[str, Any]) -> dict[str, Any]:
    function = call.get("function") or {}
    arguments = function.get("arguments") or "{}"
    try:
        args = msgspec.json.decode(arguments) if isinstance(arguments, str) else arguments
    except msgspec.DecodeError:
        raise BadRequestError(
            "tool call arguments must be a JSON object", param="messages"
        ) from None
    return {"functionCall": {"name": function.get("name"), "args": args}}


def _function_response(message: Mapping[str, Any], names: Mapping[str, str]) -> dict[str, Any]:
    call_id = message.get("tool_call_id")
    name = names.get(call_id or "")
    if name is None:
        raise BadRequestError(
            f"tool message {call_id!r} answers no tool call of an earlier "
            "assistant message; Gemini needs the function name",
            param="messages",
        )
    text = text_of(message.get("content"))
    try:
        parsed = msgspec.json.decode(text)
    except msgspec.DecodeError:
        parsed = None
    response = parsed if isinstance(parsed, dict) else {"content": text}
    return {"functionResponse": {"name": name, "response": response}}


def _contents(messages: list[Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    names = tool_names_by_id(messages)
    system: list[dict[str, Any]] = []
    contents: list[dict[str, Any]] = []
    for message in messages:
        role = message.get("role")
        parts: list[dict[str, Any]]
        if role in ("system", "developer"):
            system.extend(_part(p) for p in content_parts(message.get("content")))
            continue
        if role == "user":
            parts = [_part(p) for p in content_parts(message.get("content"))]
        elif role == "assistant":
            role = "model"
            parts = [
                _part(p)
                for p in content_parts(message.get("content"))
                if p.get("type") != "refusal"
            ]
            parts.extend(_function_call(c) for c in message.get("tool_calls") or ())
        elif role == "tool":
            role = "user"
            parts = [_function_response(message, names)]
        else:
            raise BadRequestError(f"unknown message role {role!r}", param="messages")
        parts = [p for p in parts if p.get("text", True)]
        if not parts:
            continue
        if contents and contents[-1]["role"] == role:
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": role, "parts": parts})
    return system, contents


def _tool_config(choice: Any) -> dict[str, Any] | None:
    if choice is None:
        return None
    if choice == "auto":
        config: dict[str, Any] = {"mode": "AUTO"}
    elif choice == "required":
        config = {"mode": "ANY"}
    elif choice == "none":
        config = {"mode": "NONE"}
    elif isinstance(choice, dict) and isinstance(choice.get("function"), dict):
        config = {"mode": "ANY", "allowedFunctionNames": [choice["function"].get("name")]}
    else:
        raise BadRequestError(
            "tool_choice must be 'auto', 'none', 'required' or a function", param="tool_choice"
        )
    return {"functionCallingConfig": config}


def _generation_config(body: Mapping[str, Any]) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for ours, theirs in (
        ("temperature", "temperature"),
        ("top_p", "topP"),
        ("n", "candidateCount"),
        ("seed", "seed"),
        ("presence_penalty", "presencePenalty"),
        ("frequency_penalty", "frequencyPenalty"),
    ):
        if body.get(ours) is not None:
            config[theirs] = body[ours]
    max_tokens = body.get("max_completion_tokens") or body.get("max_tokens")
    if max_tokens:
        config["maxOutputTokens"] = max_tokens
    stops = stop_list(body.get("stop"))
    if stops:
        config["stopSequences"] = stops
    response_format = body.get("response_format")
    if isinstance(response_format, dict):
        kind = response_format.get("type")
        if kind in ("json_object", "json_schema"):
            config["responseMimeType"] = "application/json"
        schema = (response_format.get("json_schema") or {}).get("schema")
        if kind == "json_schema" and isinstance(schema, dict):
            config["responseSchema"] = gemini_schema(schema)
    return config


def build_generate_content(body: Mapping[str, Any]) -> dict[str, Any]:
    reject_params(body, "gemini", _UNSUPPORTED)
    system, contents = _contents(list(body.get("messages") or ()))
    native: dict[str, Any] = {"contents": contents}
    if system:
        native["systemInstruction"] = {"parts": system}
    tools = [t["function"] for t in body.get("tools") or () if t.get("type") == "function"]
    if tools:
        declarations = []
        for function in tools:
            declaration = {"name": function["name"], "description": function.get("description", "")}
            if function.get("parameters"):
                declaration["parameters"] = gemini_schema(function["parameters"])
            declarations.append(declaration)
        native["tools"] = [{"functionDeclarations": declarations}]
        tool_config = _tool_config(body.get("tool_choice"))
        if tool_config is not None:
            native["toolConfig"] = tool_config
    config = _generation_config(body)
    if config:
        native["generationConfig"] = config
    return native
