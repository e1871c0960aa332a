"""The `mock` provider's answers for every endpoint besides chat and embeddings.

Deterministic and offline, in each endpoint's wire format (OpenAI's; Perplexity's for
search, Mistral's for OCR): text completions echo the prompt, moderations flag nothing
(unless the text says "flag-me"), rerank scores documents by the words they share with
the query, images are a 1x1 PNG, speech is a short silent WAV (or MP3 frames), and a
transcript says how many bytes of audio arrived. Search and OCR answer in the Rust
liter-llm's shapes. `answer` returns None for paths it does not serve.
"""

from __future__ import annotations

import base64
import hashlib
import struct
import time
import zlib
from collections.abc import Mapping
from typing import Any

import msgspec

from ..types import UpstreamRequest, UpstreamResponse

__all__ = [
    "SPEECH_CONTENT_TYPES",
    "answer",
    "completion_chunks",
    "mp3_frames",
    "png_pixel",
    "speech",
    "stream",
    "stream_upload",
    "text_completion",
    "wav_silence",
]

_encode = msgspec.json.Encoder().encode
_JSON = {"content-type": "application/json"}
_MODERATION_CATEGORIES = (
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "illicit",
    "illicit/violent",
    "self-harm",
    "self-harm/instructions",
    "self-harm/intent",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
)
SPEECH_CONTENT_TYPES = {
    "mp3": "audio/mpeg",
    "opus": "audio/ogg",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "wav": "audio/wav",
    "pcm": "audio/pcm",
}


def _tokens(text: str) -> int:
    return max(1, -(-len(text) // 4)) if text else 0


def _digest(*parts: Any) -> str:
    return hashlib.sha256(_encode(parts)).hexdigest()[:20]


# -- media bytes -----------------------------------------------------------------------


def png_pixel() -> bytes:
    """A valid 1x1 opaque PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)  # 8-bit RGB
    pixels = zlib.compress(b"\x00\x4a\x90\xd9")  # filter byte, one blue pixel
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def wav_silence(seconds: float = 0.25, rate: int = 8000) -> bytes:
    """A valid PCM WAV of silence (16-bit mono)."""
    frames = int(seconds * rate)
    data = b"\x00\x00" * frames
    return (
        b"RIFF"
        + struct.pack("<I", 36 + len(data))
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
        + b"data"
        + struct.pack("<I", len(data))
        + data
    )


def mp3_frames(count: int = 10) -> bytes:
    """MPEG-1 Layer III frames (128 kbit/s, 44.1 kHz) of silence, 26 ms each."""
    frame = b"\xff\xfb\x90\x64" + b"\x00" * 413
    return frame * count


def speech(body: Mapping[str, Any]) -> tuple[bytes, str]:
    """Audio for `/audio/speech` and its content type, per `response_format`."""
    fmt = str(body.get("response_format") or "mp3")
    if fmt == "wav":
        return wav_silence(), SPEECH_CONTENT_TYPES["wav"]
    if fmt == "pcm":
        return b"\x00\x00" * 6000, SPEECH_CONTENT_TYPES["pcm"]
    # opus/aac/flac are answered with MP3 frames under their content type: clients
    # store the bytes, none of the mock's users decode them.
    return mp3_frames(), SPEECH_CONTENT_TYPES.get(fmt, "audio/mpeg")


# -- JSON answers ----------------------------------------------------------------------


def _prompt_text(prompt: Any) -> str:
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, list) and prompt:
        first = prompt[0]
        if isinstance(first, str):
            return first
        if isinstance(first, int):
            return " ".join(map(str, prompt))
        if isinstance(first, list):
            return " ".join(map(str, first))
    return ""


def text_completion(body: Mapping[str, Any], *, created: int | None = None) -> dict[str, Any]:
    prompt = _prompt_text(body.get("prompt"))
    text = (prompt if body.get("echo") else "") + " echo: " + prompt
    prompt_tokens = _tokens(prompt)
    completion_tokens = _tokens(text)
    n = body.get("n") if isinstance(body.get("n"), int) else 1
    return {
        "id": "cmpl-mock" + _digest(body.get("prompt")),
        "object": "text_completion",
        "created": int(time.time()) if created is None else created,
        "model": str(body.get("model", "mock")),
        "choices": [
            {"text": text, "index": i, "logprobs": None, "finish_reason": "stop"}
            for i in range(max(1, int(n or 1)))
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def completion_chunks(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    full = text_completion(body)
    base = {k: full[k] for k in ("id", "object", "created", "model")}
    words = full["choices"][0]["text"].split(" ")
    chunks = [
        {
            **base,
            "choices": [
                {
                    "text": w if i == 0 else " " + w,
                    "index": 0,
                    "logprobs": None,
                    "finish_reason": None,
                }
            ],
        }
        for i, w in enumerate(words)
    ]
    chunks.append(
        {**base, "choices": [{"text": "", "index": 0, "logprobs": None, "finish_reason": "stop"}]}
    )
    options = body.get("stream_options")
    if isinstance(options, dict) and options.get("include_usage"):
        chunks.append({**base, "choices": [], "usage": full["usage"]})
    return chunks


def moderation(body: Mapping[str, Any]) -> dict[str, Any]:
    raw = body.get("input", "")
    items = raw if isinstance(raw, list) else [raw]
    results = []
    for item in items:
        text = (
            item
            if isinstance(item, str)
            else str(item.get("text", ""))
            if isinstance(item, dict)
            else ""
        )
        flagged = "flag-me" in text
        results.append(
            {
                "flagged": flagged,
                "categories": {c: flagged and c == "violence" for c in _MODERATION_CATEGORIES},
                "category_scores": {
                    c: (0.97 if flagged and c == "violence" else 0.0001)
                    for c in _MODERATION_CATEGORIES
                },
                "category_applied_input_types": {c: ["text"] for c in _MODERATION_CATEGORIES},
            }
        )
    return {
        "id": "modr-mock" + _digest(raw),
        "model": str(body.get("model", "mock")),
        "results": results,
    }


def _document_text(document: Any) -> str:
    if isinstance(document, str):
        return document
    if isinstance(document, dict):
        return str(document.get("text", ""))
    return ""


def rerank(body: Mapping[str, Any]) -> dict[str, Any]:
    query_words = set(str(body.get("query", "")).lower().split())
    documents = body.get("documents") or []
    scored = []
    for index, document in enumerate(documents):
        words = set(_document_text(document).lower().split())
        shared = len(query_words & words)
        score = round(shared / (len(query_words) or 1), 6)
        scored.append((score, index, document))
    scored.sort(key=lambda item: (-item[0], item[1]))
    top_n = body.get("top_n")
    if isinstance(top_n, int) and top_n > 0:
        scored = scored[:top_n]
    results = []
    for score, index, document in scored:
        result: dict[str, Any] = {"index": index, "relevance_score": score}
        if body.get("return_documents"):
            result["document"] = {"text": _document_text(document)}
        results.append(result)
    tokens = _tokens(str(body.get("query", ""))) + sum(
        _tokens(_document_text(d)) for d in documents
    )
    return {
        "id": "rerank-mock" + _digest(body.get("query"), documents),
        "model": str(body.get("model", "mock")),
        "results": results,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


def images(body: Mapping[str, Any], *, created: int | None = None) -> dict[str, Any]:
    n = body.get("n") if isinstance(body.get("n"), int) else 1
    png = png_pixel()
    data = []
    for _ in range(max(1, int(n or 1))):
        if body.get("response_format") == "url":
            data.append({"url": "data:image/png;base64," + base64.b64encode(png).decode()})
        else:
            data.append({"b64_json": base64.b64encode(png).decode()})
    answer: dict[str, Any] = {
        "created": int(time.time()) if created is None else created,
        "data": data,
    }
    prompt = body.get("prompt")
    if isinstance(prompt, str):
        for item in data:
            item["revised_prompt"] = prompt
    return answer


def transcript(
    fields: Mapping[str, str], audio_bytes: int, *, translate: bool
) -> tuple[bytes, str]:
    """The transcript of an upload in the asked `response_format`, and its content type."""
    text = f"mock transcript of {audio_bytes} bytes of audio"
    duration = round(max(audio_bytes, 1) / 16000, 3)
    fmt = fields.get("response_format") or "json"
    if fmt == "text":
        return text.encode() + b"\n", "text/plain; charset=utf-8"
    if fmt == "srt":
        srt = f"1\n00:00:00,000 --> 00:00:0{min(int(duration) + 1, 9)},000\n{text}\n\n"
        return srt.encode(), "text/plain; charset=utf-8"
    if fmt == "vtt":
        vtt = f"WEBVTT\n\n00:00:00.000 --> 00:00:0{min(int(duration) + 1, 9)}.000\n{text}\n\n"
        return vtt.encode(), "text/vtt; charset=utf-8"
    if fmt == "verbose_json":
        segment = {
            "id": 0,
            "seek": 0,
            "start": 0.0,
            "end": duration,
            "text": text,
            "tokens": [1, 2, 3],
            "temperature": 0.0,
            "avg_logprob": -0.1,
            "compression_ratio": 1.0,
            "no_speech_prob": 0.01,
        }
        verbose: dict[str, Any] = {
            "task": "translate" if translate else "transcribe",
            "language": "english",
            "duration": duration,
            "text": text,
            "segments": [segment],
        }
        if not translate:
            verbose["usage"] = {"type": "duration", "seconds": max(1, round(duration))}
        return _encode(verbose), "application/json"
    answer: dict[str, Any] = {"text": text}
    if not translate:
        answer["usage"] = {"type": "duration", "seconds": max(1, round(duration))}
    return _encode(answer), "application/json"


def search(body: Mapping[str, Any]) -> dict[str, Any]:
    query = str(body.get("query", ""))
    limit = body.get("max_results") if isinstance(body.get("max_results"), int) else 3
    results = [
        {
            "title": f"Result {i + 1} for {query}",
            "url": f"https://example.com/search/{_digest(query, i)}",
            "snippet": f"A mock page about {query}.",
            "date": None,
        }
        for i in range(max(0, min(int(limit or 3), 10)))
    ]
    return {"results": results, "model": str(body.get("model", "mock"))}


def ocr(body: Mapping[str, Any]) -> dict[str, Any]:
    """Mistral's OCR answer: one page (or the 0-based `pages` asked for)."""
    document = body.get("document") or {}
    source = ""
    if isinstance(document, dict):
        source = str(document.get("document_url") or document.get("image_url") or "")
        source = source if not source.startswith("data:") else source.split(",", 1)[0]
    asked = body.get("pages")
    indexes: list[Any] = asked if isinstance(asked, list) else [0]
    pages = [
        {
            "index": int(index),
            "markdown": f"# Mock OCR\n\nPage {int(index) + 1} of {source or 'the document'}.",
            "images": [],
            "dimensions": {"dpi": 200, "height": 2200, "width": 1700},
        }
        for index in indexes
    ]
    return {
        "pages": pages,
        "model": str(body.get("model", "mock")),
        "usage_info": {"pages_processed": len(pages), "doc_size_bytes": None},
    }


# -- dispatch --------------------------------------------------------------------------


def _json(value: Any) -> UpstreamResponse:
    return UpstreamResponse(200, _JSON, _encode(value))


def _multipart_audio_size(request: UpstreamRequest) -> tuple[dict[str, str], int]:
    """The small fields and the file's size of a multipart body (a rough reading: the
    mock only needs `response_format` and a size)."""
    content_type = request.headers.get("content-type", "")
    boundary = content_type.partition("boundary=")[2].strip('"').encode()
    fields: dict[str, str] = {}
    size = 0
    if not boundary:
        return fields, len(request.body)
    for part in request.body.split(b"--" + boundary):
        head, _, content = part.partition(b"\r\n\r\n")
        if not content:
            continue
        content = content.removesuffix(b"\r\n")
        name = head.partition(b'name="')[2].partition(b'"')[0].decode("latin-1")
        if b"filename=" in head:
            size += len(content)
        elif name:
            fields[name] = content.decode("utf-8", "replace")
    return fields, size


def answer(request: UpstreamRequest) -> UpstreamResponse | None:
    """The mock's answer for a non-chat path, or None when the path is not one of them."""
    path = request.url.split("?", 1)[0]
    if path.endswith(("/audio/transcriptions", "/audio/translations")):
        fields, size = _multipart_audio_size(request)
        body, content_type = transcript(fields, size, translate=path.endswith("/translations"))
        return UpstreamResponse(200, {"content-type": content_type}, body)
    if path.endswith(("/images/edits", "/images/variations")):
        fields, _ = _multipart_audio_size(request)
        given = fields.get("n", "")
        n = int(given) if given.isascii() and given.isdigit() and len(given) <= 9 else 1
        return _json(images({"n": n, "response_format": fields.get("response_format")}))
    handlers = {
        "/completions": text_completion,
        "/moderations": moderation,
        "/rerank": rerank,
        "/images/generations": images,
        "/search": search,
        "/ocr": ocr,
    }
    for suffix, handler in handlers.items():
        if path.endswith(suffix) and not path.endswith("/chat/completions"):
            try:
                body = msgspec.json.decode(request.body) if request.body else {}
            except msgspec.DecodeError:
                return None
            return _json(handler(body))
    if path.endswith("/audio/speech"):
        try:
            body = msgspec.json.decode(request.body) if request.body else {}
        except msgspec.DecodeError:
            return None
        audio, content_type = speech(body)
        return UpstreamResponse(200, {"content-type": content_type}, audio)
    return None


def stream(url: str, body: Mapping[str, Any]) -> tuple[list[bytes], str] | None:
    """A streamed answer (payloads, content type) for text completions and speech."""
    path = url.split("?", 1)[0]
    if path.endswith("/completions") and not path.endswith("/chat/completions"):
        payloads = [b"data: " + _encode(c) + b"\n\n" for c in completion_chunks(body)]
        return [*payloads, b"data: [DONE]\n\n"], "text/event-stream"
    if path.endswith("/audio/speech"):
        audio, content_type = speech(body)
        size = max(1, len(audio) // 4)
        return [audio[i : i + size] for i in range(0, len(audio), size)], content_type
    return None


def stream_upload(request: UpstreamRequest) -> tuple[list[bytes], str] | None:
    """A streamed transcript (OpenAI's `transcript.text.delta` and `.done` events)."""
    if not request.url.split("?", 1)[0].endswith("/audio/transcriptions"):
        return None
    _, size = _multipart_audio_size(request)
    text = f"mock transcript of {size} bytes of audio"
    events: list[dict[str, Any]] = [
        {"type": "transcript.text.delta", "delta": word if i == 0 else " " + word}
        for i, word in enumerate(text.split(" "))
    ]
    tokens = _tokens(text)
    events.append(
        {
            "type": "transcript.text.done",
            "text": text,
            "usage": {
                "type": "tokens",
                "input_tokens": max(1, size // 1000),
                "output_tokens": tokens,
                "total_tokens": max(1, size // 1000) + tokens,
            },
        }
    )
    return [b"data: " + _encode(e) + b"\n\n" for e in events], "text/event-stream"
