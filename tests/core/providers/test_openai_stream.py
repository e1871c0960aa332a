"""The OpenAI stream decoder: what it passes on and what it learns, however bytes arrive."""

from __future__ import annotations

import pytest

from literllm.errors import UpstreamError
from literllm.providers import ProviderRegistry, Target

HEAD = b'{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":'


def chunk(delta: bytes, finish: bytes = b"null") -> bytes:
    return HEAD + b'[{"index":0,"delta":' + delta + b',"finish_reason":' + finish + b"}]}"


CHUNKS = [
    chunk(b'{"role":"assistant","content":""}'),
    *[chunk(b'{"content":"t%d"}' % i) for i in range(8)],
    chunk(b"{}", b'"stop"'),
]
USAGE = HEAD + b'[],"usage":{"prompt_tokens":3,"completion_tokens":8,"total_tokens":11}}'
STREAM = b"".join(b"data: " + c + b"\n\n" for c in [*CHUNKS, USAGE, b"[DONE]"])


def decode(pieces: list[bytes], include_usage: bool) -> tuple[list[bytes], object]:
    target = Target(provider="openai", model="m", base_url="https://x.test", api_key="k")
    decoder = (
        ProviderRegistry().adapter("openai").stream_decoder(target, include_usage=include_usage)
    )
    out = [c for piece in pieces for c in decoder.feed(piece)] + decoder.close()
    return out, decoder


@pytest.mark.parametrize("include_usage", [True, False])
def test_one_batch_and_every_split_agree(include_usage: bool) -> None:
    expected = [*CHUNKS, USAGE] if include_usage else CHUNKS
    for cut in [len(STREAM), *range(1, len(STREAM), 7)]:
        out, decoder = decode([STREAM[:cut], STREAM[cut:]], include_usage)
        assert out == expected, cut
        assert decoder.finish_reasons == ["stop"]  # type: ignore[attr-defined]
        assert decoder.usage.total_tokens == 11  # type: ignore[attr-defined]
        assert decoder.response_id == "c1" and decoder.done  # type: ignore[attr-defined]


def test_an_error_chunk_in_the_middle_of_a_batch_is_raised() -> None:
    error = b'{"error":{"message":"overloaded","type":"server_error"}}'
    stream = b"".join(b"data: " + c + b"\n\n" for c in [CHUNKS[0], CHUNKS[1], error, CHUNKS[2]])
    with pytest.raises(UpstreamError, match="overloaded"):
        decode([stream], include_usage=False)
