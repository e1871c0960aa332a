"""The SSE parser gives the same events however the bytes are split."""

from __future__ import annotations

import pytest

from literllm.providers.sse import SSEParser

STREAMS = [
    b'event: message_start\ndata: {"a": 1}\n\ndata: {"b": 2}\n\n',
    b'event: message_start\r\ndata: {"a": 1}\r\n\r\ndata: {"b": 2}\r\n\r\n',
    b": keep-alive\r\rdata: x\rdata: y\r\r",
    b"data: [DONE]\n\n",
    b"data: a\n\ndata: b\n\ndata: \n\ndata: c\n\ndata: [DONE]\n\n",
    b"data: a\n\ndata: b\nid: 7\n\ndata:c\n\n\n\ndata: d\n\n: ping\n\ndata: e\n\n",
]


def events(chunks: list[bytes]) -> list[tuple[str | None, bytes]]:
    parser = SSEParser()
    out = [e for c in chunks for e in parser.feed(c)] + parser.close()
    return [(e.event, e.data) for e in out]


@pytest.mark.parametrize("stream", STREAMS)
def test_every_split_gives_the_same_events(stream: bytes) -> None:
    whole = events([stream])
    assert whole
    for cut in range(1, len(stream)):
        assert events([stream[:cut], stream[cut:]]) == whole, cut
    assert events([bytes([b]) for b in stream]) == whole


def test_crlf_events_keep_their_names() -> None:
    assert events([STREAMS[1]]) == [("message_start", b'{"a": 1}'), (None, b'{"b": 2}')]


def test_multi_line_data_and_comments() -> None:
    assert events([STREAMS[2]]) == [(None, b"x\ny")]


def test_final_event_without_blank_line_is_flushed_on_close() -> None:
    assert events([b"data: tail"]) == [(None, b"tail")]


@pytest.mark.parametrize("stream", STREAMS)
def test_payloads_match_the_events_at_every_split(stream: bytes) -> None:
    expected = [data for _, data in events([stream]) if data]
    for cut in range(0, len(stream)):
        parser = SSEParser()
        got = parser.payloads(stream[:cut]) + parser.payloads(stream[cut:])
        got += [e.data for e in parser.close() if e.data]
        assert got == expected, cut


@pytest.mark.parametrize(
    ("provider", "body"),
    [
        (
            "anthropic",
            b'event: message_start\ndata: {"type": "message_start", "message": '
            b'{"id": "m", "model": "c", "usage": {"input_tokens": 1, "output_tokens": 0}}}\n\n',
        ),
        (
            "gemini",
            b'data: {"candidates": [{"content": {"parts": [{"text": "a"}], "role": "model"}}]}\n\n',
        ),
        (
            "cohere",
            b'event: message-start\ndata: {"id": "c", "type": "message-start", '
            b'"delta": {"message": {"role": "assistant"}}}\n\n',
        ),
    ],
)
def test_native_streams_cut_short_are_errors(provider: str, body: bytes) -> None:
    from literllm.errors import UpstreamError
    from literllm.providers import ProviderRegistry, Target

    target = Target(provider=provider, model="m", base_url="https://x.test", api_key="k")
    decoder = ProviderRegistry().adapter(provider).stream_decoder(target, include_usage=False)
    decoder.feed(body)
    with pytest.raises(UpstreamError) as caught:
        decoder.close()
    assert caught.value.message.startswith(f"provider {provider!r} ended the stream before")
