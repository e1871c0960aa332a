"""OpenAI chat requests to Bedrock `Converse` / `ConverseStream` bodies.

Wire format: https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from ..errors import BadRequestError
from .openai_shape import (
    content_parts,
    image_url_of,
    parse_data_url,
    reject_n,
    reject_params,
    stop_list,
    text_of,
)

__all__ = ["build_converse"]

_IMAGE_FORMATS = {
    "image/png": "png",
    "image/jpeg": "jpeg",
    "image/jpg": "jpeg",
    "image/gif": "gif",
    "image/webp": "webp",
}
_UNSUPPORTED = ("logprobs", "top_logprobs", "response_format", "audio", "prediction")


def _image(url: str) -> dict[str, Any]:
    data_url = parse_data_url(url)
    if data_url is not None:
        image_format = _IMAGE_FORMATS.get(data_url[0])
        if image_format is None:
            raise BadRequestError(
                f"Bedrock accepts png, jpeg, gif and webp images, not {data_url[0]!r}",
                param="messages",
            )
        return {"image": {"format": image_format, "source": {"bytes": data_url[1]}}}
    if url.startswith("s3://"):
        extension = url.rsplit(".", 1)[-1].lower()
        image_format = {"jpg": "jpeg"}.get(extension, extension)
        if image_format not in _IMAGE_FORMATS.values():
            raise BadRequestError(
                "an s3:// image URL must end in .png, .jpg, .jpeg, .gif or .webp", param="messages"
            )
        return {"image": {"format": image_format, "source": {"s3Location": {"uri": url}}}}
    raise BadRequestError(
        "Bedrock takes images as base64 data URLs or s3:// URLs; the "
        "gateway does not fetch http(s) image URLs",
        param="messages",
    )


def _block(part: Mapping[str, Any]) -> dict[str, Any]:
    kind = part.get("type")
    if kind == "text":
        return {"text": part.get("text", "")}
    if kind == "image_url":
        return _image(image_url_of(part))
    raise BadRequestError(
        f"provider 'bedrock' does not accept content parts of type {kind!r}", param="messages"
    )


def _tool_use(call: Mapping[str, Any]) -> dict[str, Any]:
    function = call.get("function") or {}
    arguments = function.get("arguments") or "{}"
    try:
        tool_input = msgspec.json.decode(arguments) if isinstance(arguments, str) else arguments
    except msgspec.DecodeError:
        raise BadRequestError(
            "tool call arguments must be a JSON object", param="messages"
        ) from None
    return {
        "toolUse": {"toolUseId": call.get("id"), "name": function.get("name"), "input": tool_input}
    }


def _messages(messages: list[Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    system: list[dict[str, Any]] = []
    out: list[dict[str, Any]] = []
    for message in messages:
        role = message.get("role")
        blocks: list[dict[str, Any]]
        if role in ("system", "developer"):
            text = text_of(message.get("content"))
            if text:
                system.append({"text": text})
            continue
        if role == "user":
            blocks = [_block(p) for p in content_parts(message.get("content"))]
        elif role == "assistant":
            blocks = [
                _block(p)
                for p in content_parts(message.get("content"))
                if p.get("type") != "refusal"
            ]
            blocks.extend(_tool_use(c) for c in message.get("tool_calls") or ())
        elif role == "tool":
            role = "user"
            blocks = [
                {
                    "toolResult": {
                        "toolUseId": message.get("tool_call_id"),
                        "content": [{"text": text_of(message.get("content"))}],
                    }
                }
            ]
        else:
            raise BadRequestError(f"unknown message role {role!r}", param="messages")
        blocks = [b for b in blocks if b.get("text", True)]
        if not blocks:
            continue
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})
    return system, out


def _tool_config(body: Mapping[str, Any], messages: list[dict[str, Any]]) -> dict[str, Any] | None:
    tools = [t["function"] for t in body.get("tools") or () if t.get("type") == "function"]
    if not tools:
        return None
    choice = body.get("tool_choice")
    used_tools = any("toolUse" in b or "toolResult" in b for m in messages for b in m["content"])
    if choice == "none" and not used_tools:
        return None  # Converse has no "none"; without tools the model cannot call one
    config: dict[str, Any] = {
        "tools": [
            {
                "toolSpec": {
                    "name": f["name"],
                    "description": f.get("description") or f["name"],
                    "inputSchema": {"json": f.get("parameters") or {"type": "object"}},
                }
            }
            for f in tools
        ]
    }
    if choice == "auto":
        config["toolChoice"] = {"auto": {}}
    elif choice == "required":
        config["toolChoice"] = {"any": {}}
    elif isinstance(choice, dict) and isinstance(choice.get("function"), dict):
        config["toolChoice"] = {"tool": {"name": choice["function"].get("name")}}
    elif choice not in (None, "none"):
        raise BadRequestError(
            "tool_choice must be 'auto', 'none', 'required' or a function", param="tool_choice"
        )
    return config


def build_converse(body: Mapping[str, Any]) -> dict[str, Any]:
    reject_n(body, "bedrock")
    response_format = body.get("response_format")
    if isinstance(response_format, dict) and response_format.get("type") == "text":
        body = {k: v for k, v in body.items() if k != "response_format"}
    reject_params(body, "bedrock", _UNSUPPORTED)
    system, messages = _messages(list(body.get("messages") or ()))
    native: dict[str, Any] = {"messages": messages}
    if system:
        native["system"] = system
    inference: dict[str, Any] = {}
    max_tokens = body.get("max_completion_tokens") or body.get("max_tokens")
    if max_tokens:
        inference["maxTokens"] = max_tokens
    if body.get("temperature") is not None:
        inference["temperature"] = body["temperature"]
    if body.get("top_p") is not None:
        inference["topP"] = body["top_p"]
    stops = stop_list(body.get("stop"))
    if stops:
        inference["stopSequences"] = stops
    if inference:
        native["inferenceConfig"] = inference
    tool_config = _tool_config(body, messages)
    if tool_config is not None:
        native["toolConfig"] = tool_config
    return native
