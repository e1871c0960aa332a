"""Images, audio, moderations and rerank with the official openai SDK (and httpx for
rerank, which the SDK lacks) against the real server and the offline mock provider."""

from __future__ import annotations

import base64
import io
import wave
from collections.abc import Callable, Iterator

import httpx
import msgspec
import openai
import pytest

from literllm import Proxy
from literllm.testing import FakeUpstream
from literllm.transport.mock_media import png_pixel, wav_silence
from tests.support.configs import MASTER, MOCK_POOL, TEAM, config
from tests.support.openapi import validate
from tests.support.server import ServerThread


@pytest.fixture
def upstream() -> FakeUpstream:
    return FakeUpstream()


@pytest.fixture
def server(upstream: FakeUpstream) -> Iterator[ServerThread]:
    toml = MOCK_POOL + "\n[server]\nbody_limit_bytes = 200000\n"
    proxy = Proxy.from_config(config(toml), transport=upstream, environ={})
    with ServerThread(proxy) as running:
        yield running


Client = Callable[..., openai.OpenAI]


@pytest.fixture
def client(server: ServerThread) -> Iterator[Client]:
    """openai clients for the test, closed at its end (no socket left to the GC)."""
    made: list[openai.OpenAI] = []

    def make(key: str = MASTER) -> openai.OpenAI:
        sdk = openai.OpenAI(base_url=server.url + "/v1", api_key=key, max_retries=0, timeout=10)
        made.append(sdk)
        return sdk

    yield make
    for sdk in made:
        sdk.close()


def _is_png(data: bytes) -> bool:
    return data.startswith(b"\x89PNG\r\n\x1a\n") and data.endswith(b"IEND\xaeB`\x82")


@pytest.mark.parametrize("fmt", ["b64_json", "url"])
def test_image_generation(server: ServerThread, client: Client, fmt: str) -> None:
    answer = client().images.generate(
        model="chat",
        prompt="a blue pixel",
        n=2,
        response_format=fmt,  # type: ignore[arg-type]
    )
    validate(answer.model_dump(mode="json", exclude_unset=True), "ImagesResponse")
    assert len(answer.data or []) == 2
    item = (answer.data or [])[0]
    encoded = item.b64_json if fmt == "b64_json" else (item.url or "").split(",", 1)[1]
    assert _is_png(base64.b64decode(encoded or ""))


def test_image_edit_and_variation_are_multipart(
    server: ServerThread, client: Client, upstream: FakeUpstream
) -> None:
    image = ("pixel.png", png_pixel(), "image/png")
    edited = client().images.edit(model="chat", image=image, prompt="make it red", n=1)
    validate(edited.model_dump(mode="json", exclude_unset=True), "ImagesResponse")
    sent = upstream.requests[-1]
    assert sent.url.endswith("/images/edits")
    assert sent.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert png_pixel() in sent.body and b'name="model"\r\n\r\necho\r\n' in sent.body
    varied = client().images.create_variation(model="chat", image=image, n=2)
    assert len(varied.data or []) == 2
    assert upstream.requests[-1].url.endswith("/images/variations")


def test_image_edit_without_an_image_is_400(server: ServerThread) -> None:
    response = httpx.post(
        server.url + "/v1/images/edits",
        headers={"authorization": f"Bearer {MASTER}"},
        files={"prompt": (None, "x"), "model": (None, "chat")},
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "image"


def test_upload_from_an_unknown_key_is_refused_before_reading(server: ServerThread) -> None:
    response = httpx.post(
        server.url + "/v1/images/edits",
        headers={"authorization": "Bearer sk-nope"},
        files={"image": ("a.png", png_pixel(), "image/png"), "model": (None, "chat")},
        timeout=10,
    )
    assert response.status_code == 401


@pytest.mark.parametrize(("fmt", "content_type"), [("mp3", "audio/mpeg"), ("wav", "audio/wav")])
def test_speech_streams_audio_with_its_content_type(
    server: ServerThread, client: Client, fmt: str, content_type: str
) -> None:
    with client().audio.speech.with_streaming_response.create(
        model="chat",
        voice="alloy",
        input="hello",
        response_format=fmt,  # type: ignore[arg-type]
    ) as response:
        assert response.headers["content-type"] == content_type
        chunks = list(response.iter_bytes())
    audio = b"".join(chunks)
    if fmt == "wav":
        with wave.open(io.BytesIO(audio)) as reader:
            assert reader.getnframes() > 0
    else:
        assert audio[:2] == b"\xff\xfb"


@pytest.mark.parametrize("fmt", ["json", "text", "srt", "vtt", "verbose_json"])
def test_transcription_in_every_format(server: ServerThread, client: Client, fmt: str) -> None:
    audio = ("speech.wav", wav_silence(1.0), "audio/wav")
    raw = client().audio.transcriptions.with_raw_response.create(
        model="chat",
        file=audio,
        response_format=fmt,  # type: ignore[arg-type]
    )
    http = raw.http_response
    if fmt in ("json", "verbose_json"):
        assert http.headers["content-type"].startswith("application/json")
        schema = (
            "CreateTranscriptionResponseJson"
            if fmt == "json"
            else "CreateTranscriptionResponseVerboseJson"
        )
        validate(http.json(), schema)
        assert "16044 bytes" in http.json()["text"]
    else:
        assert http.headers["content-type"].startswith(("text/plain", "text/vtt"))
        assert "mock transcript" in http.text
        if fmt == "vtt":
            assert http.text.startswith("WEBVTT")


def test_translation(server: ServerThread, client: Client) -> None:
    answer = client().audio.translations.create(
        model="chat", file=("speech.wav", wav_silence(0.5), "audio/wav")
    )
    validate(answer.model_dump(mode="json", exclude_unset=True), "CreateTranslationResponseJson")


def test_moderation(server: ServerThread, client: Client) -> None:
    answer = client().moderations.create(model="chat", input=["fine", "flag-me"])
    validate(answer.model_dump(mode="json", exclude_unset=True), "CreateModerationResponse")
    assert [r.flagged for r in answer.results] == [False, True]


def test_rerank(server: ServerThread) -> None:
    response = httpx.post(
        server.url + "/v1/rerank",
        headers={"authorization": f"Bearer {TEAM}", "x-request-id": "rr-1"},
        json={
            "model": "chat",
            "query": "green tea",
            "documents": ["coffee", "green tea leaves", "tea"],
            "top_n": 2,
            "return_documents": True,
        },
        timeout=10,
    )
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "rr-1"
    results = response.json()["results"]
    assert [r["index"] for r in results] == [1, 2]
    assert results[0]["document"] == {"text": "green tea leaves"}


def test_endpoint_a_provider_lacks_is_400(server: ServerThread, upstream: FakeUpstream) -> None:
    # "upstream" is openai/gpt-4o: OpenAI has no rerank endpoint
    response = httpx.post(
        server.url + "/v1/rerank",
        headers={"authorization": f"Bearer {MASTER}"},
        json={"model": "upstream", "query": "q", "documents": ["a"]},
        timeout=10,
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert "'openai'" in error["message"] and "/v1/rerank" in error["message"]
    assert not upstream.requests
    assert msgspec.json.decode(response.content)["error"]["code"] == "endpoint_not_supported"


def test_search_and_ocr_extensions(server: ServerThread) -> None:
    headers = {"authorization": f"Bearer {MASTER}"}
    found = httpx.post(
        server.url + "/v1/search",
        headers=headers,
        json={"model": "chat", "query": "liter-llm", "max_results": 3},
        timeout=10,
    )
    assert found.status_code == 200
    assert [set(r) >= {"title", "url", "snippet"} for r in found.json()["results"]] == [True] * 3
    read = httpx.post(
        server.url + "/v1/ocr",
        headers=headers,
        json={
            "model": "chat",
            "document": {
                "type": "base64",
                "data": base64.b64encode(png_pixel()).decode(),
                "media_type": "image/png",
            },
        },
        timeout=10,
    )
    assert read.status_code == 200
    page = read.json()["pages"][0]
    assert page["index"] == 0 and page["markdown"].startswith("# Mock OCR")
    assert page["dimensions"] == {"width": 1700, "height": 2200}


def test_transcription_streams_its_events(server: ServerThread, client: Client) -> None:
    events = list(
        client().audio.transcriptions.create(
            model="chat", file=("speech.wav", wav_silence(0.5), "audio/wav"), stream=True
        )
    )
    deltas = [e.delta for e in events if e.type == "transcript.text.delta"]
    done = events[-1]
    assert done.type == "transcript.text.done"
    assert "".join(deltas) == done.text == "mock transcript of 8044 bytes of audio"


def test_translations_do_not_stream(server: ServerThread) -> None:
    response = httpx.post(
        server.url + "/v1/audio/translations",
        headers={"authorization": f"Bearer {MASTER}"},
        files={
            "file": ("a.wav", wav_silence(0.1), "audio/wav"),
            "model": (None, "chat"),
            "stream": (None, "true"),
        },
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "stream"
