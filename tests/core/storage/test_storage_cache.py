"""ResponseCache: memory LRU, TTL on the fake clock, blob backends, failure containment."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from literllm.config.schema import CacheConfig
from literllm.errors import ConfigError
from literllm.storage.cache import BlobCacheStore, ResponseCache


def memory_cache(clock: Any, *, max_entries: int = 100, ttl: int | None = None) -> ResponseCache:
    config = CacheConfig(max_entries=max_entries, ttl_seconds=ttl, backend="memory")
    return ResponseCache.from_config(config, clock=clock)


async def test_miss_then_hit_counts_both(clock: Any) -> None:
    cache = memory_cache(clock)
    key = cache.key(endpoint="chat.completions", model="m", body={"a": 1}, caller="c")
    assert await cache.get(key) is None
    await cache.set(key, b'{"id":"chatcmpl-1"}')
    assert await cache.get(key) == b'{"id":"chatcmpl-1"}'
    stats = cache.stats
    assert (stats.hits, stats.misses, stats.writes, stats.errors) == (1, 1, 1, 0)


async def test_stats_is_a_snapshot(clock: Any) -> None:
    cache = memory_cache(clock)
    before = cache.stats
    await cache.get("k")
    assert before.misses == 0
    assert cache.stats.misses == 1


async def test_memory_entries_expire_after_ttl_on_the_clock(clock: Any) -> None:
    cache = memory_cache(clock, ttl=60)
    await cache.set("k", b"v")
    clock.advance(59.9)
    assert await cache.get("k") == b"v"
    clock.advance(0.1)
    assert await cache.get("k") is None


async def test_hit_does_not_extend_ttl(clock: Any) -> None:
    cache = memory_cache(clock, ttl=10)
    await cache.set("k", b"v")
    clock.advance(9)
    assert await cache.get("k") == b"v"
    clock.advance(1)
    assert await cache.get("k") is None


async def test_lru_evicts_least_recently_used_and_a_hit_refreshes_recency(clock: Any) -> None:
    cache = memory_cache(clock, max_entries=2)
    await cache.set("a", b"1")
    await cache.set("b", b"2")
    assert await cache.get("a") == b"1"  # "a" is now the most recent
    await cache.set("c", b"3")  # evicts "b", the least recently used
    assert await cache.get("b") is None
    assert await cache.get("a") == b"1"
    assert await cache.get("c") == b"3"


async def test_lru_without_hits_evicts_oldest_write(clock: Any) -> None:
    cache = memory_cache(clock, max_entries=2)
    for name in ("a", "b", "c"):
        await cache.set(name, name.encode())
    assert await cache.get("a") is None
    assert await cache.get("b") == b"b"


async def test_rewrite_refreshes_recency_and_value(clock: Any) -> None:
    cache = memory_cache(clock, max_entries=2)
    await cache.set("a", b"1")
    await cache.set("b", b"2")
    await cache.set("a", b"new")
    await cache.set("c", b"3")
    assert await cache.get("a") == b"new"
    assert await cache.get("b") is None


async def test_tenants_do_not_share_entries(clock: Any) -> None:
    cache = memory_cache(clock)
    body = {"model": "m", "messages": [{"role": "user", "content": "secret?"}]}
    mine = cache.key(endpoint="chat.completions", model="m", body=body, caller="tenant-a")
    theirs = cache.key(endpoint="chat.completions", model="m", body=body, caller="tenant-b")
    await cache.set(mine, b"answer for a")
    assert await cache.get(theirs) is None


async def test_aclose_turns_the_cache_into_misses(clock: Any) -> None:
    cache = memory_cache(clock)
    await cache.set("k", b"v")
    await cache.aclose()
    assert await cache.get("k") is None
    await cache.aclose()


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (CacheConfig(backend="memory"), "max_entries"),
        (CacheConfig(backend="memory", max_entries=0), "max_entries"),
        (CacheConfig(backend="memory", max_entries=5, ttl_seconds=0), "ttl_seconds"),
        (CacheConfig(backend="no-such-scheme", max_entries=5), "no-such-scheme"),
        (CacheConfig(backend="s3", backend_config={"region": "x"}), "[cache.backend_config]"),
    ],
)
def test_config_errors_name_what_to_change(clock: Any, config: CacheConfig, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        ResponseCache.from_config(config, clock=clock)
    assert message in str(caught.value)


class FailingOperator:
    """An operator whose every call fails, counting the calls."""

    def __init__(self) -> None:
        self.calls = 0

    async def read(self, path: str, /) -> bytes:
        self.calls += 1
        raise OSError("connection refused")

    async def write(self, path: str, bs: bytes, /) -> None:
        self.calls += 1
        raise OSError("connection refused")

    async def delete(self, path: str, /) -> None:
        self.calls += 1
        raise OSError("connection refused")


def failing_cache(clock: Any, operator: Any, **kwargs: Any) -> ResponseCache:
    store = BlobCacheStore(operator, ttl_seconds=60, clock=clock)
    return ResponseCache(store, clock=clock, backend="redis", **kwargs)


async def test_failing_backend_never_raises_and_counts_errors(clock: Any) -> None:
    operator = FailingOperator()
    cache = failing_cache(clock, operator, retry_after_seconds=0)
    assert await cache.get("k") is None
    await cache.set("k", b"v")
    assert operator.calls == 2
    stats = cache.stats
    assert (stats.errors, stats.misses, stats.hits, stats.writes) == (2, 1, 0, 0)


async def test_failures_are_logged_once_per_interval(
    clock: Any, caplog: pytest.LogCaptureFixture
) -> None:
    cache = failing_cache(clock, FailingOperator(), log_interval_seconds=60, retry_after_seconds=0)
    with caplog.at_level(logging.WARNING, logger="literllm.storage.cache"):
        for _ in range(5):
            await cache.get("k")
        assert len(caplog.records) == 1
        clock.advance(59)
        await cache.get("k")
        assert len(caplog.records) == 1
        clock.advance(1)
        await cache.get("k")
    assert len(caplog.records) == 2
    assert "6 failure(s)" in caplog.records[1].getMessage()
    assert "connection refused" in caplog.records[0].getMessage()


async def test_failed_backend_is_skipped_until_retry_after(clock: Any) -> None:
    operator = FailingOperator()
    cache = failing_cache(clock, operator, retry_after_seconds=5)
    await cache.get("k")
    await cache.get("k")
    await cache.set("k", b"v")
    assert operator.calls == 1
    assert cache.stats.skipped == 2
    clock.advance(5)
    await cache.get("k")
    assert operator.calls == 2


class HangingOperator:
    async def read(self, path: str, /) -> bytes:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def write(self, path: str, bs: bytes, /) -> None:
        await asyncio.Event().wait()

    async def delete(self, path: str, /) -> None:
        await asyncio.Event().wait()


async def test_hanging_backend_times_out_into_a_miss(clock: Any) -> None:
    cache = failing_cache(clock, HangingOperator(), operation_timeout_seconds=0.01)
    assert await cache.get("k") is None
    assert cache.stats.errors == 1


async def test_unreachable_redis_is_a_miss(clock: Any, closed_port: int) -> None:
    config = CacheConfig(
        max_entries=10,
        ttl_seconds=60,
        backend="redis",
        backend_config={"endpoint": f"redis://127.0.0.1:{closed_port}"},
    )
    cache = ResponseCache.from_config(config, clock=clock, operation_timeout_seconds=0.3)
    assert await cache.get("k") is None
    await cache.set("k", b"v")  # skipped: the backend failed just now
    assert cache.stats.errors == 1
    assert cache.stats.skipped == 1


async def blob_round_trip(cache: ResponseCache, clock: Any) -> None:
    key = cache.key(endpoint="embeddings", model="e", body={"input": "x"}, caller="c")
    assert await cache.get(key) is None
    await cache.set(key, b'{"data":[]}')
    assert await cache.get(key) == b'{"data":[]}'
    clock.advance(3600)
    assert await cache.get(key) is None  # expired by its own header, on the fake clock
    assert cache.stats.errors == 0


async def test_fs_backend_round_trip_expiry_and_sharing(clock: Any, tmp_path: Any) -> None:
    config = CacheConfig(ttl_seconds=3600, backend="fs", backend_config={"root": str(tmp_path)})
    writer = ResponseCache.from_config(config, clock=clock)
    reader = ResponseCache.from_config(config, clock=clock)
    await writer.set("shared", b"v")
    assert await reader.get("shared") == b"v"  # another process on the same storage
    await blob_round_trip(writer, clock)


async def test_expired_blob_entry_is_deleted(clock: Any, tmp_path: Any) -> None:
    config = CacheConfig(ttl_seconds=10, backend="fs", backend_config={"root": str(tmp_path)})
    cache = ResponseCache.from_config(config, clock=clock)
    await cache.set("k", b"v")
    stored = tmp_path / "literllm-cache" / "k"
    assert stored.exists()
    clock.advance(10)
    assert await cache.get("k") is None
    assert not stored.exists()


async def test_blob_entry_without_ttl_never_expires(clock: Any, tmp_path: Any) -> None:
    config = CacheConfig(backend="fs", backend_config={"root": str(tmp_path)})
    cache = ResponseCache.from_config(config, clock=clock)
    await cache.set("k", b"v")
    clock.advance(10 * 365 * 86400)
    assert await cache.get("k") == b"v"


async def test_foreign_blob_object_is_a_miss(clock: Any, tmp_path: Any) -> None:
    config = CacheConfig(ttl_seconds=10, backend="fs", backend_config={"root": str(tmp_path)})
    cache = ResponseCache.from_config(config, clock=clock)
    (tmp_path / "literllm-cache").mkdir()
    (tmp_path / "literllm-cache" / "k").write_bytes(b"not a cache entry at all")
    assert await cache.get("k") is None


async def test_torn_blob_entry_is_a_miss(clock: Any, tmp_path: Any) -> None:
    config = CacheConfig(ttl_seconds=10, backend="fs", backend_config={"root": str(tmp_path)})
    cache = ResponseCache.from_config(config, clock=clock)
    await cache.set("k", b'{"complete": true}')
    stored = tmp_path / "literllm-cache" / "k"
    stored.write_bytes(stored.read_bytes()[:-3])
    assert await cache.get("k") is None


async def test_redis_backend(clock: Any, redis_url: str) -> None:
    redis = pytest.importorskip("redis.asyncio")
    config = CacheConfig(
        max_entries=10, ttl_seconds=3600, backend="redis", backend_config={"endpoint": redis_url}
    )
    cache = ResponseCache.from_config(config, clock=clock, operation_timeout_seconds=5)
    await blob_round_trip(cache, clock)
    await cache.set("with-ttl", b"v")
    client = redis.from_url(redis_url)
    try:
        keys = [key async for key in client.scan_iter(match="*with-ttl")]
        assert len(keys) == 1
        assert 0 < await client.ttl(keys[0]) <= 3600  # Redis expires entries by itself too
    finally:
        await client.aclose()


async def test_s3_backend(clock: Any, s3_options: dict[str, Any]) -> None:
    config = CacheConfig(ttl_seconds=3600, backend="s3", backend_config=s3_options)
    cache = ResponseCache.from_config(config, clock=clock, operation_timeout_seconds=10)
    await blob_round_trip(cache, clock)
