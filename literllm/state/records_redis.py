"""Records in Redis: `<prefix>rec:<table>` hash of id -> value and `<prefix>rec:<table>:v`
its version, changed together by one script each."""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from .base import StateUnavailableError
from .redis import redacted_url

__all__ = ["RedisRecordStore"]

# KEYS: hash, version. ARGV: id, value, only_new ('1' / '0').
_PUT = """
if ARGV[3] == '1' then
  if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
redis.call('INCR', KEYS[2])
return 1
"""

# KEYS: hash. ARGV: id, limit.
_ADD_BOUNDED = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 1 end
if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], '')
return 1
"""

# KEYS: hash, version. ARGV: id.
_DELETE = """
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('INCR', KEYS[2])
return 1
"""


class RedisRecordStore:
    shared = True

    def __init__(self, url: str, *, prefix: str = "literllm:", timeout_secs: float = 2.0) -> None:
        self._url = url
        self._where = redacted_url(url)
        self._prefix = prefix
        self._timeout = timeout_secs
        self._client: aioredis.Redis | None = None
        self._scripts: dict[str, Any] = {}

    def _error(self, error: BaseException) -> StateUnavailableError:
        kind = type(error).__name__
        return StateUnavailableError(f"Redis state store {self._where} failed ({kind})")

    async def start(self) -> None:
        if self._client is None:
            client = aioredis.from_url(
                self._url,
                socket_timeout=self._timeout,
                socket_connect_timeout=self._timeout,
                decode_responses=False,
            )
            self._scripts = {
                "put": client.register_script(_PUT),
                "delete": client.register_script(_DELETE),
                "add_bounded": client.register_script(_ADD_BOUNDED),
            }
            self._client = client
        try:
            await self._client.ping()
        except (RedisError, OSError) as error:
            raise self._error(error) from error

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    def _keys(self, table: str) -> list[str]:
        records = f"{self._prefix}rec:{table}"
        return [records, f"{records}:v"]

    def _started(self) -> aioredis.Redis:
        if self._client is None:
            raise StateUnavailableError("the Redis state store is not started")
        return self._client

    async def put(
        self, table: str, record_id: str, value: bytes, *, only_new: bool = False
    ) -> bool:
        self._started()
        try:
            done = await self._scripts["put"](
                keys=self._keys(table), args=[record_id, value, "1" if only_new else "0"]
            )
        except (RedisError, OSError) as error:
            raise self._error(error) from error
        return int(done) == 1

    async def add_bounded(self, table: str, record_id: str, limit: int) -> bool:
        self._started()
        try:
            done = await self._scripts["add_bounded"](
                keys=self._keys(table)[:1], args=[record_id, limit]
            )
        except (RedisError, OSError) as error:
            raise self._error(error) from error
        return int(done) == 1

    async def delete(self, table: str, record_id: str) -> bool:
        self._started()
        try:
            done = await self._scripts["delete"](keys=self._keys(table), args=[record_id])
        except (RedisError, OSError) as error:
            raise self._error(error) from error
        return int(done) == 1

    async def get(self, table: str, record_id: str) -> bytes | None:
        client = self._started()
        try:
            value = await client.hget(self._keys(table)[0], record_id)
        except (RedisError, OSError) as error:
            raise self._error(error) from error
        if value is None:
            return None
        return value if isinstance(value, bytes) else str(value).encode()

    async def all(self, table: str) -> tuple[int, dict[str, bytes]]:
        client = self._started()
        records, version = self._keys(table)
        try:
            async with client.pipeline(transaction=True) as pipe:
                pipe.get(version)
                pipe.hgetall(records)
                raw_version, raw = await pipe.execute()
        except (RedisError, OSError) as error:
            raise self._error(error) from error
        return int(raw_version or 0), {
            (k.decode() if isinstance(k, bytes) else str(k)): bytes(v) for k, v in raw.items()
        }

    async def version(self, table: str) -> int:
        client = self._started()
        try:
            value = await client.get(self._keys(table)[1])
        except (RedisError, OSError) as error:
            raise self._error(error) from error
        return int(value or 0)
