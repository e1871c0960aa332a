"""Hash operations of every state backend, and a settlement that writes a record."""

from __future__ import annotations

from literllm.state import StateStore
from literllm.state.base import Cap, HashRecord


async def test_hash_operations(store: StateStore) -> None:
    assert await store.hash_all("b1") == {}
    assert await store.hash_set("b1", "doc", "{}") is True
    assert await store.hash_set("b1", "doc", "other", only_new=True) is False
    assert await store.hash_get("b1", "doc") == "{}"
    assert await store.hash_set("b1", "doc", "new") is True
    assert [await store.hash_incr("b1", "cursor") for _ in range(3)] == [1, 2, 3]
    assert await store.hash_all("b1") == {"doc": "new", "cursor": "3"}
    assert await store.hash_get("b1", "missing") is None


async def test_settle_writes_its_record_with_the_spend(store: StateStore) -> None:
    await store.reserve("r1", [Cap("global", 10.0)], 1.0, now=1.0, expires_at=100.0, enforce=True)
    await store.settle(
        "r1",
        ["global"],
        0.25,
        now=2.0,
        tokens=[("tpm:global", 7)],
        window_seconds=60.0,
        record=HashRecord("batch:x:results", "3", '{"ok":true}'),
    )
    assert await store.hash_all("batch:x:results") == {"3": '{"ok":true}'}
    assert (await store.spend())["global"] == 0.25
    assert (await store.usage(["tpm:global"], now=3.0, window_seconds=60.0)) == {"tpm:global": 7}
