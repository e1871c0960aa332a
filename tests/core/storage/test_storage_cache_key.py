"""The response-cache key: stable, tenant-isolating, blind only to documented fields."""

from __future__ import annotations

import re

import pytest

from literllm.storage.cache_key import IGNORED_BODY_FIELDS, response_cache_key

BODY = {
    "model": "gpt-4o",
    "messages": [{"role": "user", "content": "hi", "name": "a"}],
    "temperature": 0.2,
    "response_format": {"type": "json_schema", "json_schema": {"name": "x", "strict": True}},
}


def key(body: dict[str, object] = BODY, **overrides: str) -> str:
    args = {"endpoint": "chat.completions", "model": "gpt-4o", "caller": "k1", **overrides}
    return response_cache_key(body=body, **args)


def test_key_is_sha256_hex() -> None:
    value = key()
    assert re.fullmatch("[0-9a-f]{64}", value), value
    assert key() == value  # stable for the same request
    assert key(caller="k2") != value


def test_key_ignores_dict_order_at_every_depth() -> None:
    reordered = {
        "response_format": {"json_schema": {"strict": True, "name": "x"}, "type": "json_schema"},
        "temperature": 0.2,
        "messages": [{"name": "a", "content": "hi", "role": "user"}],
        "model": "gpt-4o",
    }
    assert key(reordered) == key()


def test_different_callers_get_different_keys() -> None:
    assert key(caller="tenant-a") != key(caller="tenant-b")


@pytest.mark.parametrize("override", [{"endpoint": "embeddings"}, {"model": "cheap-alias"}])
def test_endpoint_and_model_are_part_of_the_key(override: dict[str, str]) -> None:
    assert key(**override) != key()


@pytest.mark.parametrize(
    "change",
    [
        {"temperature": 0.3},
        {"messages": [{"role": "user", "content": "hello", "name": "a"}]},
        {"max_tokens": 5},
        {"seed": 1},
    ],
)
def test_fields_that_change_the_answer_change_the_key(change: dict[str, object]) -> None:
    assert key({**BODY, **change}) != key()


def test_message_order_matters() -> None:
    two = {"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]}
    swapped = {"messages": [{"role": "user", "content": "b"}, {"role": "user", "content": "a"}]}
    assert key(two) != key(swapped)


@pytest.mark.parametrize(
    "extra",
    [
        {"stream": False},
        {"stream": True, "stream_options": {"include_usage": True}},
        {"user": "end-user-42"},
        {"metadata": {"trace": "x"}},
        {"store": True},
    ],
)
def test_fields_that_do_not_change_the_answer_are_left_out(extra: dict[str, object]) -> None:
    assert key({**BODY, **extra}) == key()


def test_documented_ignored_fields() -> None:
    assert {"stream", "stream_options", "user", "metadata", "store"} == IGNORED_BODY_FIELDS
