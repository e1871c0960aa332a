"""The mock provider's offline answers are valid files and valid OpenAI objects."""

from __future__ import annotations

import base64
import io
import struct
import wave
import zlib

import msgspec
import pytest

from literllm.transport.base import UpstreamRequest
from literllm.transport.mock import MockUpstream
from literllm.transport.mock_media import (
    completion_chunks,
    mp3_frames,
    png_pixel,
    speech,
    text_completion,
    transcript,
    wav_silence,
)
from tests.support.openapi import validate


def _png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks = []
    offset = 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length])
        assert zlib.crc32(kind + body) & 0xFFFFFFFF == crc
        chunks.append((kind, body))
        offset += 12 + length
    return chunks


def test_png_is_a_decodable_one_pixel_image() -> None:
    chunks = _png_chunks(png_pixel())
    assert [k for k, _ in chunks] == [b"IHDR", b"IDAT", b"IEND"]
    width, height = struct.unpack(">II", chunks[0][1][:8])
    assert (width, height) == (1, 1)
    assert len(zlib.decompress(chunks[1][1])) == 1 + 3  # filter byte + RGB


def test_wav_is_readable_by_the_standard_library() -> None:
    with wave.open(io.BytesIO(wav_silence(0.5, 8000))) as reader:
        assert reader.getframerate() == 8000
        assert reader.getnframes() == 4000
        assert reader.getsampwidth() == 2


def test_mp3_frames_start_with_a_frame_sync() -> None:
    data = mp3_frames(3)
    assert len(data) == 3 * 417  # 144 * 128000 / 44100, no padding
    assert all(data[i * 417 : i * 417 + 2] == b"\xff\xfb" for i in range(3))


@pytest.mark.parametrize(
    ("fmt", "content_type"),
    [("mp3", "audio/mpeg"), ("wav", "audio/wav"), ("opus", "audio/ogg"), ("pcm", "audio/pcm")],
)
def test_speech_has_the_content_type_of_its_format(fmt: str, content_type: str) -> None:
    audio, kind = speech({"response_format": fmt})
    assert kind == content_type
    assert audio


def test_text_completion_and_its_stream_validate() -> None:
    body = {"model": "m", "prompt": "hello there", "stream_options": {"include_usage": True}}
    validate(text_completion(body), "CreateCompletionResponse")
    chunks = completion_chunks(body)
    assert (
        "".join(c["choices"][0]["text"] for c in chunks if c["choices"])
        == (text_completion(body)["choices"][0]["text"])
    )
    assert chunks[-1]["usage"]["total_tokens"] > 0


@pytest.mark.parametrize(
    ("fmt", "schema"),
    [
        ("json", "CreateTranscriptionResponseJson"),
        ("verbose_json", "CreateTranscriptionResponseVerboseJson"),
    ],
)
def test_json_transcripts_validate(fmt: str, schema: str) -> None:
    body, kind = transcript({"response_format": fmt}, 32000, translate=False)
    assert kind == "application/json"
    validate(msgspec.json.decode(body), schema)


def test_text_transcript_formats() -> None:
    text, _ = transcript({"response_format": "text"}, 10, translate=False)
    srt, _ = transcript({"response_format": "srt"}, 10, translate=False)
    vtt, kind = transcript({"response_format": "vtt"}, 10, translate=True)
    assert text.startswith(b"mock transcript")
    assert srt.startswith(b"1\n00:00:00,000 --> ")
    assert vtt.startswith(b"WEBVTT\n\n") and kind.startswith("text/vtt")


async def _post(path: str, body: object) -> object:
    response = await MockUpstream().send(
        UpstreamRequest("POST", "mock://local/v1" + path, {}, msgspec.json.encode(body)),
        timeout=1,
    )
    assert response.status == 200
    return msgspec.json.decode(response.body)


async def test_moderation_validates_and_flags_on_request() -> None:
    answer = await _post("/moderations", {"model": "m", "input": ["fine", "flag-me now"]})
    validate(answer, "CreateModerationResponse")
    assert [r["flagged"] for r in answer["results"]] == [False, True]  # type: ignore[index]


async def test_rerank_orders_by_shared_words() -> None:
    answer = await _post(
        "/rerank",
        {
            "model": "m",
            "query": "red apple",
            "documents": ["blue sky", "red apple pie", "apple"],
            "top_n": 2,
            "return_documents": True,
        },
    )
    results = answer["results"]  # type: ignore[index]
    assert [r["index"] for r in results] == [1, 2]
    assert results[0]["document"] == {"text": "red apple pie"}
    assert results[0]["relevance_score"] > results[1]["relevance_score"]


async def test_images_validate_in_both_formats() -> None:
    for fmt in ("b64_json", "url"):
        answer = await _post(
            "/images/generations", {"prompt": "a cat", "n": 2, "response_format": fmt}
        )
        validate(answer, "ImagesResponse")
        item = answer["data"][0]  # type: ignore[index]
        encoded = item["b64_json"] if fmt == "b64_json" else item["url"].split(",", 1)[1]
        _png_chunks(base64.b64decode(encoded))
