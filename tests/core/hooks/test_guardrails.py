"""Built-in guardrails from config: patterns (redact, block, streams) and max_input_tokens."""

from __future__ import annotations

from typing import Any

import pytest

from literllm import ConfigError, Proxy, Response
from literllm.config import parse_config
from literllm.config.guardrails import PatternSettings
from literllm.hooks import RequestRejected, TextLookahead
from literllm.hooks.patterns import PatternGuardrail, iban_valid, luhn_valid
from literllm.testing import FakeClock, FakeUpstream, Reply, StreamReply
from tests.core.hooks.test_hooks_inprocess import MODELS, answer, chunk, text_of
from tests.support.configs import MASTER, TEAM, config

EMAIL = "jane.doe@example.com"
CARD = "4111 1111 1111 1111"  # Luhn-valid test number
IBAN = "DE89 3704 0044 0532 0130 00"  # the standard valid example
KEY = "sk-proj-" + "a1B2c3D4e5F6g7H8i9J0k1L2"

PATTERNS = """
[[guardrails]]
type = "patterns"
"""


def proxy(toml: str, upstream: FakeUpstream | None = None) -> Proxy:
    return Proxy.from_config(
        config(MODELS + toml), transport=upstream or FakeUpstream(), clock=FakeClock()
    )


def redact(text: str, **settings: Any) -> str:
    guard = PatternGuardrail(PatternSettings(**settings))
    body = {"messages": [{"role": "user", "content": text}]}
    guard_walk = guard._rewrite(body["messages"][0]["content"], "prompt")
    return guard_walk


def test_checksums() -> None:
    assert luhn_valid("4111111111111111")
    assert not luhn_valid("4111111111111112")
    assert iban_valid(IBAN)
    assert not iban_valid(IBAN.replace("89", "88"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"mail {EMAIL} now", "mail [EMAIL] now"),
        (f"card {CARD}.", "card [CARD]."),
        ("order 4111 1111 1111 1112 shipped", "order 4111 1111 1111 1112 shipped"),
        (f"pay to {IBAN} today", "pay to [IBAN] today"),
        ("ref DE88 3704 0044 0532 0130 00 x", "ref DE88 3704 0044 0532 0130 00 x"),
        (f"key={KEY}", "key=[API_KEY]"),
        ("AKIAABCDEFGHIJKLMNOP is aws", "[API_KEY] is aws"),
        ("call +1 (415) 555-0132 today", "call [PHONE] today"),
        ("in 2024 we sold 12 units", "in 2024 we sold 12 units"),
    ],
)
def test_redaction(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_custom_patterns_and_entity_selection() -> None:
    text = f"ticket ABC-1234 from {EMAIL}"
    assert redact(text, entities=["email"], custom={"ticket": r"ABC-\d{4}"}) == (
        "ticket [TICKET] from [EMAIL]"
    )
    assert redact(text, entities=[], custom={}) == text


async def test_prompt_is_redacted_before_it_leaves() -> None:
    upstream = FakeUpstream()
    upstream.script(Reply(json=answer("ok")))
    async with proxy(PATTERNS, upstream) as p:
        await p.chat(
            {"model": "gpt", "messages": [{"role": "user", "content": f"I am {EMAIL}"}]},
            api_key=MASTER,
        )
    assert upstream.bodies()[0]["messages"][0]["content"] == "I am [EMAIL]"


async def test_answer_is_redacted() -> None:
    upstream = FakeUpstream()
    upstream.script(Reply(json=answer(f"write to {EMAIL}, card {CARD}")))
    async with proxy(PATTERNS, upstream) as p:
        response = await p.chat(
            {"model": "gpt", "messages": [{"role": "user", "content": "who?"}]}, api_key=MASTER
        )
    assert response.json()["choices"][0]["message"]["content"] == "write to [EMAIL], card [CARD]"


async def test_block_refuses_with_the_configured_status() -> None:
    toml = PATTERNS + '[guardrails.settings]\naction = "block"\nstatus = 422\n'
    upstream = FakeUpstream()
    async with proxy(toml, upstream) as p:
        with pytest.raises(RequestRejected) as caught:
            await p.chat(
                {"model": "gpt", "messages": [{"role": "user", "content": f"card {CARD}"}]},
                api_key=MASTER,
            )
    assert caught.value.status == 422
    assert caught.value.to_dict()["error"] == {
        "message": "the prompt contains a card number, which this gateway does not allow",
        "type": "invalid_request_error",
        "param": None,
        "code": "content_blocked",
    }
    assert upstream.bodies() == []


def split(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


@pytest.mark.parametrize("size", [1, 3, 7, 50])
async def test_stream_redaction_across_chunk_boundaries(size: int) -> None:
    text = f"Reach me at {EMAIL} or pay {CARD} via {IBAN}, thanks."
    events = [chunk("", role=True), *[chunk(piece) for piece in split(text, size)]]
    events.append(chunk(None, "stop"))
    upstream = FakeUpstream()
    upstream.script(StreamReply(events))
    async with proxy(PATTERNS, upstream) as p:
        stream = await p.chat_stream(
            {"model": "gpt", "messages": [{"role": "user", "content": "?"}]}, api_key=MASTER
        )
        async with stream:
            chunks = [c async for c in stream.json_chunks()]
    assert text_of(chunks) == "Reach me at [EMAIL] or pay [CARD] via [IBAN], thanks."
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert all(c["choices"][0]["delta"] or c["choices"][0]["finish_reason"] for c in chunks)


async def test_stream_without_finish_reason_releases_what_it_held() -> None:
    upstream = FakeUpstream()
    upstream.script(StreamReply([chunk("mail "), chunk(EMAIL[:5]), chunk(EMAIL[5:])]))
    async with proxy(PATTERNS, upstream) as p:
        stream = await p.chat_stream(
            {"model": "gpt", "messages": [{"role": "user", "content": "?"}]}, api_key=MASTER
        )
        async with stream:
            chunks = [c async for c in stream.json_chunks()]
    assert text_of(chunks) == "mail [EMAIL]"


async def test_stream_block_ends_with_content_filter_and_leaks_nothing() -> None:
    toml = PATTERNS + '[guardrails.settings]\naction = "block"\n'
    text = f"the card is {CARD} ok"
    events = [chunk(piece) for piece in split(text, 4)] + [chunk(None, "stop")]
    upstream = FakeUpstream()
    upstream.script(StreamReply(events))
    async with proxy(toml, upstream) as p:
        stream = await p.chat_stream(
            {"model": "gpt", "messages": [{"role": "user", "content": "?"}]}, api_key=MASTER
        )
        async with stream:
            chunks = [c async for c in stream.json_chunks()]
    assert "4111" not in text_of(chunks)
    assert chunks[-1]["choices"][0]["finish_reason"] == "content_filter"


def test_lookahead_is_bounded() -> None:
    buffer = TextLookahead(lambda text: [], size=8)
    released = "".join(buffer.push("x" * 5) for _ in range(10))
    assert len(buffer.pending) == 8
    assert released + buffer.flush() == "x" * 50


MAX_TOKENS = """
[[guardrails]]
type = "max_input_tokens"
keys = ["team"]

[guardrails.settings]
max_input_tokens = 20
"""


async def test_max_input_tokens_per_key() -> None:
    long = [{"role": "user", "content": "word " * 100}]
    async with proxy(MAX_TOKENS) as p:
        with pytest.raises(RequestRejected) as caught:
            await p.chat({"model": "chat", "messages": long}, api_key=TEAM)
        response = await p.chat({"model": "chat", "messages": long}, api_key=MASTER)
    assert caught.value.status == 400
    assert caught.value.code == "max_input_tokens_exceeded"
    assert response.status == 200


async def test_max_input_tokens_per_model_with_several_entries() -> None:
    toml = """
[[guardrails]]
type = "max_input_tokens"
models = ["chat"]
[guardrails.settings]
max_input_tokens = 20

[[guardrails]]
type = "max_input_tokens"
models = ["embed"]
[guardrails.settings]
max_input_tokens = 500
status = 413
"""
    words = "word " * 100  # about 125 tokens by the gateway's estimate
    async with proxy(toml) as p:
        with pytest.raises(RequestRejected) as caught:
            await p.chat(
                {"model": "chat", "messages": [{"role": "user", "content": words}]}, api_key=MASTER
            )
        embedded = await p.embeddings({"model": "embed", "input": words}, api_key=MASTER)
        with pytest.raises(RequestRejected) as too_long:
            await p.embeddings({"model": "embed", "input": words * 10}, api_key=MASTER)
    assert caught.value.code == "max_input_tokens_exceeded" and caught.value.status == 400
    assert embedded.status == 200
    assert too_long.value.status == 413


async def test_guardrail_scoped_to_a_model() -> None:
    toml = PATTERNS + 'models = ["gpt"]\n'
    upstream = FakeUpstream()
    async with proxy(toml, upstream) as p:
        response = await p.chat(
            {"model": "chat", "messages": [{"role": "user", "content": EMAIL}]}, api_key=MASTER
        )
    assert EMAIL in response.json()["choices"][0]["message"]["content"]


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ('type = "patterns"\n[guardrails.settings]\nentities = ["ssn"]\n', "entities"),
        ('type = "patterns"\n[guardrails.settings]\ncustom = {x = "("}\n', "not a valid regex"),
        ('type = "max_input_tokens"\n', "max_input_tokens"),
        ('type = "toxicity"\n', 'invalid value "toxicity"'),
        ('type = "moderation"\n', "missing required field `model`"),
    ],
)
def test_bad_guardrail_settings_are_located(table: str, expected: str) -> None:
    text = '[general]\nmaster_key = "x"\n\n[[guardrails]]\n' + table
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "g.toml", environ={})
    assert caught.value.line is not None and caught.value.line >= 4
    assert expected in caught.value.detail


async def test_text_completions_are_redacted_json_and_streamed() -> None:
    # The openai deployment gets completions as chat; the client sees text completions.
    upstream = FakeUpstream()
    upstream.script(
        Reply(json=answer(f"mail {EMAIL}")),
        StreamReply(
            [chunk(piece) for piece in split(f"mail {EMAIL} ok", 4)] + [chunk(None, "stop")]
        ),
    )
    async with proxy(PATTERNS, upstream) as p:
        result = await p.completions({"model": "gpt", "prompt": f"I am {EMAIL}"}, api_key=MASTER)
        assert isinstance(result, Response)
        assert result.json()["choices"][0]["text"] == "mail [EMAIL]"
        stream = await p.completions(
            {"model": "gpt", "prompt": "?", "stream": True}, api_key=MASTER
        )
        assert not isinstance(stream, Response)
        async with stream:
            chunks = [c async for c in stream.json_chunks()]
    assert upstream.bodies()[0]["messages"][0]["content"] == "I am [EMAIL]"
    assert chunks[0]["object"] == "text_completion"
    streamed = "".join(c["choices"][0]["text"] for c in chunks if c.get("choices"))
    assert streamed == "mail [EMAIL] ok"


MODERATION = """
[[models]]
name = "mod"
provider_model = "openai/omni-moderation-latest"
api_key = "sk-upstream-0001"
base_url = "https://openai.test/v1"

[[guardrails]]
type = "moderation"
models = ["gpt"]

[guardrails.settings]
model = "mod"
check_output = true
"""


def moderation(flagged: bool) -> dict[str, Any]:
    return {
        "id": "modr-1",
        "model": "omni-moderation-latest",
        "results": [
            {
                "flagged": flagged,
                "categories": {"violence": flagged, "hate": False},
                "category_scores": {"violence": 0.9 if flagged else 0.01, "hate": 0.0},
            }
        ],
    }


async def test_moderation_refuses_a_flagged_prompt_before_it_leaves() -> None:
    upstream = FakeUpstream()
    upstream.script(Reply(json=moderation(True)))
    async with proxy(MODERATION, upstream) as p:
        with pytest.raises(RequestRejected) as caught:
            await p.chat(
                {"model": "gpt", "messages": [{"role": "user", "content": "how to hurt"}]},
                api_key=MASTER,
            )
    assert caught.value.status == 400 and caught.value.code == "content_flagged"
    assert "violence" in caught.value.message
    (sent,) = upstream.bodies()  # only the moderation call went out
    assert sent == {"model": "omni-moderation-latest", "input": ["how to hurt"]}


async def test_moderation_checks_the_answer_when_asked() -> None:
    upstream = FakeUpstream()
    upstream.script(
        Reply(json=moderation(False)),
        Reply(json=answer("bad answer")),
        Reply(json=moderation(True)),
    )
    async with proxy(MODERATION, upstream) as p:
        with pytest.raises(RequestRejected) as caught:
            await p.chat(
                {"model": "gpt", "messages": [{"role": "user", "content": "hello"}]},
                api_key=MASTER,
            )
    assert "answer was flagged" in caught.value.message
    assert upstream.bodies()[2]["input"] == ["bad answer"]


async def test_moderation_passes_clean_requests() -> None:
    upstream = FakeUpstream()
    upstream.script(
        Reply(json=moderation(False)), Reply(json=answer("hi")), Reply(json=moderation(False))
    )
    async with proxy(MODERATION, upstream) as p:
        response = await p.chat(
            {"model": "gpt", "messages": [{"role": "user", "content": "hello"}]}, api_key=MASTER
        )
    assert response.json()["choices"][0]["message"]["content"] == "hi"


def test_moderation_model_must_be_configured() -> None:
    text = MODELS + MODERATION.replace('model = "mod"', 'model = "nope"')
    with pytest.raises(ConfigError, match='moderation model "nope" is not a'):
        config(text)


@pytest.mark.parametrize("flagged", [True, False])
async def test_moderation_checks_a_streamed_answer_before_sending_it(flagged: bool) -> None:
    upstream = FakeUpstream()
    upstream.script(
        Reply(json=moderation(False)),
        StreamReply([chunk("", role=True), chunk("bad "), chunk("answer"), chunk(None, "stop")]),
        Reply(json=moderation(flagged)),
    )
    async with proxy(MODERATION, upstream) as p:
        stream = await p.chat_stream(
            {"model": "gpt", "messages": [{"role": "user", "content": "hello"}]}, api_key=MASTER
        )
        async with stream:
            chunks = [c async for c in stream.json_chunks()]
    assert upstream.bodies()[2]["input"] == ["bad answer"]
    if flagged:
        assert text_of(chunks) == ""  # nothing of the answer was sent
        assert chunks[-1]["choices"][0]["finish_reason"] == "content_filter"
    else:
        assert text_of(chunks) == "bad answer"
        assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


async def test_moderation_without_check_output_leaves_answers_and_streams_alone() -> None:
    toml = MODERATION.replace("check_output = true", "check_output = false")
    async with proxy(toml) as p:
        (registered,) = p._hooks.hooks if p._hooks is not None else ()
    assert registered.points == frozenset({"before_request"})


async def test_responses_conversation_is_redacted_before_it_leaves() -> None:
    """Native Responses (gpt is an OpenAI deployment): the earlier turns (from the
    gateway's store), tool outputs and instructions are redacted too."""
    upstream = FakeUpstream()  # the mock answers the Responses API itself
    async with proxy(PATTERNS, upstream) as p:
        first = await p.responses.create(
            {"model": "gpt", "input": "hi", "instructions": f"mail {EMAIL}"}, api_key=MASTER
        )
        assert isinstance(first, Response)
        await p.responses.create(
            {
                "model": "gpt",
                "previous_response_id": first.json()["id"],
                "input": [{"type": "function_call_output", "call_id": "c1", "output": CARD}],
            },
            api_key=MASTER,
        )
    sent = upstream.bodies()
    assert sent[0]["instructions"] == "mail [EMAIL]"
    assert sent[1]["input"] == [
        {"type": "function_call_output", "call_id": "c1", "output": "[CARD]"}
    ]
    assert sent[1]["previous_response_id"] == first.json()["id"]
