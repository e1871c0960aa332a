"""AWS Bedrock Runtime: `Converse` and `ConverseStream` for chat, `InvokeModel` for
Titan and Cohere embeddings, SigV4-signed (or a Bedrock API key as bearer).

`Target.api_key` is either `ACCESS_KEY_ID:SECRET[:SESSION_TOKEN]` (see
`AwsCredentials.to_api_key`) or a Bedrock API key; the region comes from the base URL.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import msgspec

from ..errors import BadRequestError, ConfigError, UpstreamError
from ..types import UpstreamRequest, UpstreamResponse, Usage
from .base import (
    ChatResult,
    Credential,
    EmbeddingResult,
    Target,
    path_segment,
    static_credential,
)
from .bedrock_convert import build_converse
from .bedrock_signing import AwsCredentials, region_from_url, sign_request
from .bedrock_stream import BedrockStreamDecoder, bedrock_finish, bedrock_usage
from .errormap import upstream_error
from .openai_shape import (
    decode_json,
    embedding_list,
    embedding_texts,
    new_id,
    redact,
    single_choice_result,
)

__all__ = ["BedrockAdapter", "resolve_base_url"]

# exception name (lower camel case in streams) -> (HTTP status, retryable)
_EXCEPTIONS = {
    "throttlingexception": (429, True),
    "servicequotaexceededexception": (429, False),
    "serviceunavailableexception": (503, True),
    "modelnotreadyexception": (429, True),
    "modeltimeoutexception": (504, True),
    "internalserverexception": (500, True),
    "modelstreamerrorexception": (502, True),
    "modelerrorexception": (502, False),
    "validationexception": (400, False),
    "accessdeniedexception": (403, False),
    "resourcenotfoundexception": (404, False),
}
_encode = msgspec.json.Encoder().encode


def resolve_base_url(environ: Mapping[str, str]) -> str | None:
    """`https://bedrock-runtime.<region>.amazonaws.com` from `AWS_REGION` or
    `AWS_DEFAULT_REGION`; None when neither is set."""
    region = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION")
    return f"https://bedrock-runtime.{region}.amazonaws.com" if region else None


class BedrockAdapter:
    name = "bedrock"
    base64_embeddings = False
    default_base_url: str | None = None
    env_var: str | None = None
    # the endpoint comes from the environment when [[models]] sets no base_url
    resolve_base_url = staticmethod(resolve_base_url)

    def credential(self, api_key: str | None) -> Credential:
        # A Bedrock API key is a bearer token; without one, requests are SigV4-signed
        # with credentials from botocore's chain.
        if api_key:
            return static_credential(api_key)
        return Credential(source="aws_chain", required=False)

    def __init__(self, *, sign: Callable[..., dict[str, str]] = sign_request) -> None:
        self._sign = sign

    def _request(
        self, target: Target, path: str, native: dict[str, Any], accept: str
    ) -> UpstreamRequest:
        url = f"{target.base_url.rstrip('/')}/model/{path_segment(target.model)}/{path}"
        body = _encode(native)
        headers = {"content-type": "application/json", "accept": accept}
        if not target.api_key:
            raise ConfigError(
                "provider 'bedrock' has no credentials: the gateway must pass "
                "AWS credentials or a Bedrock API key as the api_key"
            )
        credentials = AwsCredentials.from_api_key(target.api_key)
        if credentials is None:
            headers["authorization"] = "Bearer " + target.api_key
        else:
            headers = self._sign(
                "POST", url, headers, body, credentials, region=region_from_url(target.base_url)
            )
        return UpstreamRequest("POST", url, headers, body)

    def chat_request(
        self, target: Target, body: dict[str, Any], *, stream: bool
    ) -> UpstreamRequest:
        native = build_converse(body)
        if stream:
            return self._request(
                target, "converse-stream", native, "application/vnd.amazon.eventstream"
            )
        return self._request(target, "converse", native, "application/json")

    def chat_response(self, target: Target, response: UpstreamResponse) -> ChatResult:
        raw = decode_json(target, response.body)
        text: list[str] = []
        tool_calls: list[dict[str, Any]] = []
        for block in ((raw.get("output") or {}).get("message") or {}).get("content") or ():
            if "text" in block:
                text.append(block["text"])
            elif "toolUse" in block:
                use = block["toolUse"]
                tool_calls.append(
                    {
                        "id": use.get("toolUseId"),
                        "type": "function",
                        "function": {
                            "name": use.get("name"),
                            "arguments": _encode(use.get("input") or {}).decode(),
                        },
                    }
                )
        message: dict[str, Any] = {
            "role": "assistant",
            "content": "".join(text) or None,
            "refusal": None,
        }
        if tool_calls:
            message["tool_calls"] = tool_calls
        finish = bedrock_finish(raw.get("stopReason"))
        usage = bedrock_usage(raw.get("usage") or {})
        request_id = _header(response.headers, "x-amzn-requestid")
        response_id = "chatcmpl-" + request_id if request_id else new_id()
        result = single_choice_result(
            response_id=response_id, model=target.model, message=message, finish=finish, usage=usage
        )
        if raw.get("stopReason") == "stop_sequence":
            result.stop_sequence = ""  # Converse says one matched, not which
        return result

    def stream_decoder(self, target: Target, *, include_usage: bool) -> BedrockStreamDecoder:
        return BedrockStreamDecoder(
            target,
            include_usage=include_usage,
            on_exception=lambda kind, payload: self._error(target, 200, {}, payload, kind),
        )

    def embeddings_request(self, target: Target, body: dict[str, Any]) -> UpstreamRequest:
        texts = embedding_texts(body, target.provider)
        model = target.model.lower()
        native: dict[str, Any]
        if "titan-embed" in model:
            if len(texts) != 1:
                raise BadRequestError(
                    "Titan embedding models embed one text per request; "
                    "send input as a single string",
                    param="input",
                )
            native = {"inputText": texts[0]}
            if body.get("dimensions"):
                native["dimensions"] = body["dimensions"]
        elif "cohere.embed" in model:
            native = {
                "texts": texts,
                "input_type": body.get("input_type") or "search_document",
                "embedding_types": ["float"],
            }
        else:
            raise BadRequestError(
                f"bedrock model {target.model!r} is not a known embedding "
                "model (amazon.titan-embed-* or cohere.embed-*)",
                param="model",
            )
        return self._request(target, "invoke", native, "application/json")

    def embeddings_response(self, target: Target, response: UpstreamResponse) -> EmbeddingResult:
        raw = decode_json(target, response.body)
        vectors: list[list[float]]
        if "embedding" in raw:  # Titan
            vectors = [raw["embedding"]]
            tokens = int(raw.get("inputTextTokenCount") or 0)
        else:  # Cohere: embeddings is a list, or a dict by type when embedding_types is set
            embeddings = raw.get("embeddings")
            found = embeddings.get("float") if isinstance(embeddings, dict) else embeddings
            vectors = found if isinstance(found, list) else []
            tokens = int(_header(response.headers, "x-amzn-bedrock-input-token-count") or 0)
        usage = Usage(prompt_tokens=tokens, total_tokens=tokens)
        return EmbeddingResult(
            body=embedding_list(vectors, model=target.model, usage=usage),
            usage=usage,
            model=target.model,
        )

    def error(
        self, target: Target, status: int, headers: Mapping[str, str], body: bytes
    ) -> UpstreamError:
        kind = (_header(headers, "x-amzn-errortype") or "").split(":", 1)[0]
        return self._error(target, status, headers, body, kind)

    def _error(
        self, target: Target, status: int, headers: Mapping[str, str], body: bytes, kind: str
    ) -> UpstreamError:
        try:
            raw = msgspec.json.decode(body)
        except msgspec.DecodeError:
            raw = None
        message: str | None = None
        if isinstance(raw, dict):
            message = raw.get("message") or raw.get("Message")
            kind = kind or str(raw.get("__type") or "").rsplit("#", 1)[-1]
        elif body:
            message = body[:200].decode("utf-8", "replace").strip() or None
        known = _EXCEPTIONS.get(kind.lower())
        retryable: bool | None = None
        if known is not None:
            if status < 400:
                status = known[0]
            retryable = known[1]
        message = redact(message, target.api_key)
        if target.api_key and message:
            for secret in target.api_key.split(":"):
                message = redact(message, secret)
        return upstream_error(
            target.provider,
            status if status >= 400 else 502,
            message,
            headers,
            retryable=retryable,
            code=kind or None,
        )


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        lowered = {k.lower(): v for k, v in headers.items()}
        value = lowered.get(name)
    return value
