"""`/v1/audio/speech` (JSON in, audio bytes streamed out) and `/v1/audio/transcriptions`
and `/v1/audio/translations` (multipart in; json, text, srt, vtt or verbose_json out,
passed through with the provider's content type).

Speech is priced per input character, transcripts per second of audio: the duration
the answer reports (`verbose_json`, or `usage.seconds`), else the WAV header's."""

from __future__ import annotations

import io
import wave
from collections.abc import Mapping
from typing import Any, Final

import msgspec

from ..errors import BadRequestError
from ..multipart import Form
from ..providers.base import Adapter, StreamDecoder, Target
from ..providers.sse import SSEParser
from ..types import UpstreamRequest, UpstreamResponse, Usage
from .base import OperationResult, PassThrough
from .uploads import FORM_KEY, FormOperation

__all__ = [
    "SPEECH_FORMATS",
    "RawDecoder",
    "Speech",
    "TranscriptStreamDecoder",
    "Transcriptions",
    "Translations",
]

SPEECH_FORMATS: Final = {
    "mp3": "audio/mpeg",
    "opus": "audio/ogg",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "wav": "audio/wav",
    "pcm": "audio/pcm",
}
_TRANSCRIPT_FORMATS: Final = ("json", "text", "srt", "vtt", "verbose_json")


class _SpeechShape(msgspec.Struct):
    model: str
    input: str
    voice: str | dict[str, Any]
    response_format: str | None = None
    speed: float | None = None


class RawDecoder:
    """Bytes relayed as they arrive (audio): no framing, no usage."""

    def __init__(self) -> None:
        self.usage: Usage | None = None
        self.response_id: str | None = None
        self.model: str | None = None
        self.finish_reasons: list[str] = []

    def feed(self, data: bytes) -> list[bytes]:
        return [data] if data else []

    def close(self) -> list[bytes]:
        return []


class Speech(PassThrough):
    name = "speech"
    endpoint = "/v1/audio/speech"
    kind = "audio"
    upstream_path = "/audio/speech"

    def validate(self, body: dict[str, Any]) -> None:
        from ..requests import check_shape

        check_shape(body, _SpeechShape)
        if not body["input"]:
            raise BadRequestError("'input' must not be empty", param="input", code="invalid_value")
        fmt = body.get("response_format")
        if fmt is not None and fmt not in SPEECH_FORMATS:
            raise BadRequestError(
                f"'response_format' must be one of {', '.join(SPEECH_FORMATS)}",
                param="response_format",
                code="invalid_value",
            )

    def estimated_tokens(self, body: Mapping[str, Any]) -> int:
        return max(1, len(str(body.get("input", ""))) // 4)

    def request(
        self, adapter: Adapter, target: Target, body: dict[str, Any], *, stream: bool
    ) -> UpstreamRequest:
        body.pop("stream", None)
        return super().request(adapter, target, body, stream=False)

    def stream_decoder(
        self, adapter: Adapter, target: Target, body: dict[str, Any], *, include_usage: bool
    ) -> StreamDecoder:
        return RawDecoder()

    def content_type(self, body: Mapping[str, Any]) -> str:
        return SPEECH_FORMATS.get(str(body.get("response_format") or "mp3"), "audio/mpeg")

    def unit_cost(
        self, provider_model: str, body: Mapping[str, Any], result: OperationResult
    ) -> float | None:
        per_character = self.pricing.unit_price(provider_model, "character")
        if per_character is None:
            return None
        return per_character * len(str(body.get("input", "")))


class _Duration(msgspec.Struct):
    seconds: float | None = None


class _TranscriptPeek(msgspec.Struct):
    duration: float | None = None
    usage: _Duration | None = None


_peek = msgspec.json.Decoder(_TranscriptPeek)


def wav_seconds(form: Form) -> float | None:
    """The duration of an uploaded WAV file, from its header."""
    for file in form.files:
        if file.name == "file" and file.data[:4] == b"RIFF":
            try:
                with wave.open(io.BytesIO(file.data)) as reader:
                    frames: int = reader.getnframes()
                    rate: int = reader.getframerate()
                    return frames / float(rate or 1)
            except (wave.Error, EOFError):
                return None
    return None


class _TokenUsage(msgspec.Struct):
    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None


class _Event(msgspec.Struct):
    type: str | None = None
    usage: _TokenUsage | None = None


_event = msgspec.json.Decoder(_Event)


class TranscriptStreamDecoder:
    """OpenAI's transcript events (`transcript.text.delta`, `transcript.text.done`)
    passed through as they arrive; the usage of the `done` event is recorded."""

    def __init__(self, target: Target) -> None:
        self._target = target
        self._parser = SSEParser()
        self.usage: Usage | None = None
        self.response_id: str | None = None
        self.model: str | None = target.model
        self.finish_reasons: list[str] = []

    def feed(self, data: bytes) -> list[bytes]:
        return self._keep(self._parser.payloads(data))

    def close(self) -> list[bytes]:
        return self._keep([e.data for e in self._parser.close()])

    def _keep(self, payloads: list[bytes]) -> list[bytes]:
        out = []
        for payload in payloads:
            if not payload or payload == b"[DONE]":
                continue
            if b'"usage"' in payload:
                try:
                    usage = _event.decode(payload).usage
                except (msgspec.DecodeError, msgspec.ValidationError):
                    usage = None
                if usage is not None:
                    prompt, completion = usage.input_tokens or 0, usage.output_tokens or 0
                    self.usage = Usage(
                        prompt_tokens=prompt,
                        completion_tokens=completion,
                        total_tokens=usage.total_tokens or prompt + completion,
                    )
            out.append(payload)
        return out


class Transcriptions(FormOperation):
    name = "transcription"
    endpoint = "/v1/audio/transcriptions"
    kind = "audio"
    upstream_path = "/audio/transcriptions"

    def stream_decoder(
        self, adapter: Adapter, target: Target, body: dict[str, Any], *, include_usage: bool
    ) -> StreamDecoder:
        return TranscriptStreamDecoder(target)

    def validate(self, body: dict[str, Any]) -> None:
        super().validate(body)
        stream = body.get("stream")
        if stream not in (None, "true", "false", "True", "False"):
            raise BadRequestError(
                "'stream' must be true or false", param="stream", code="invalid_value"
            )
        body["stream"] = stream in ("true", "True")
        fmt = body.get("response_format")
        if fmt is not None and fmt not in _TRANSCRIPT_FORMATS:
            raise BadRequestError(
                f"'response_format' must be one of {', '.join(_TRANSCRIPT_FORMATS)}",
                param="response_format",
                code="invalid_value",
            )

    def response(
        self, adapter: Adapter, target: Target, response: UpstreamResponse, body: dict[str, Any]
    ) -> OperationResult:
        content_type = response.headers.get("content-type") or "application/json"
        return OperationResult(body=response.body, model=target.model, content_type=content_type)

    def unit_cost(
        self, provider_model: str, body: Mapping[str, Any], result: OperationResult
    ) -> float | None:
        per_second = self.pricing.unit_price(provider_model, "second")
        if per_second is None:
            return None
        seconds = None
        if result.content_type.startswith("application/json"):
            try:
                peek = _peek.decode(result.body)
            except (msgspec.DecodeError, msgspec.ValidationError):
                peek = _TranscriptPeek()
            seconds = peek.duration or (peek.usage.seconds if peek.usage else None)
        if seconds is None:
            form = body.get(FORM_KEY)
            seconds = wav_seconds(form) if isinstance(form, Form) else None
        return None if seconds is None else per_second * seconds


class Translations(Transcriptions):
    name = "translation"
    endpoint = "/v1/audio/translations"
    upstream_path = "/audio/translations"

    def validate(self, body: dict[str, Any]) -> None:
        super().validate(body)
        if body["stream"]:
            raise BadRequestError(
                "translations do not stream", param="stream", code="invalid_value"
            )
