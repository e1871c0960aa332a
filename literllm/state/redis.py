"""`backend = "redis"`: state in Redis, shared by any number of processes and machines.

Every decision is one server-side Lua script (`EVALSHA`), so checking and writing are
atomic in Redis itself; Python never reads, modifies and writes back. Keys, under
`prefix` (default `literllm:`):

- `<prefix>win:<window>` sorted set of entry ids scored by timestamp, and
  `<prefix>win:<window>:amt` hash of entry id -> amount plus the running `__total`;
  both expire one window after their last write.
- `<prefix>res:<cap>` hash of reservation id -> `amount|expires_at`, and
  `<prefix>resv:<id>` set of the caps a reservation holds; both expire with it.
- `<prefix>spend` hash of cap name -> USD spent (never expires).
- `<prefix>c:<name>` hashes of counters (`counters_add`, the dashboard's traffic per
  minute and quarter hour), each expiring `ttl_seconds` after its last write.

The reservation script derives cap keys from the prefix, so the store needs a single
Redis (standalone, or a Sentinel/managed primary), not Redis Cluster. Spend is as
durable as the server's persistence (`appendonly yes` for every write; see
docs/deployment.md). Timestamps come from the gateway's clock: keep hosts NTP-synced.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from .base import (
    AMOUNT_EPSILON,
    Cap,
    CapShortfall,
    HashRecord,
    HitOutcome,
    ReserveOutcome,
    StateUnavailableError,
    WindowHit,
    WindowState,
)

__all__ = ["RedisStateStore"]

_PRUNE = """
local function prune(log, amounts, horizon)
  local expired = redis.call('ZRANGEBYSCORE', log, '-inf', horizon)
  if #expired > 0 then
    local freed = 0
    for first = 1, #expired, 500 do
      local chunk = {unpack(expired, first, math.min(first + 499, #expired))}
      for _, value in ipairs(redis.call('HMGET', amounts, unpack(chunk))) do
        freed = freed + (tonumber(value) or 0)
      end
      redis.call('HDEL', amounts, unpack(chunk))
    end
    redis.call('ZREMRANGEBYSCORE', log, '-inf', horizon)
    redis.call('HINCRBY', amounts, '__total', -freed)
  end
  if redis.call('ZCARD', log) == 0 then
    redis.call('DEL', amounts)
    return 0
  end
  return tonumber(redis.call('HGET', amounts, '__total') or '0')
end
local function reset_after(log, now, span)
  local oldest = redis.call('ZRANGE', log, 0, 0, 'WITHSCORES')
  if #oldest == 0 then return '0' end
  return string.format('%.17g', math.max(tonumber(oldest[2]) + span - now, 0))
end
"""

# KEYS: per window, its log and its amounts hash.
# ARGV: entry_id, now, horizon, window_seconds, ttl_ms, then per window limit, amount.
_HIT = (
    _PRUNE
    + """
local entry_id, now_text, horizon = ARGV[1], ARGV[2], ARGV[3]
local now, span, ttl = tonumber(ARGV[2]), tonumber(ARGV[4]), tonumber(ARGV[5])
local count = #KEYS / 2
local totals, refused, wait = {}, {}, 0
for i = 1, count do
  local log, amounts = KEYS[2 * i - 1], KEYS[2 * i]
  local limit, amount = tonumber(ARGV[4 + 2 * i]), tonumber(ARGV[5 + 2 * i])
  local total = prune(log, amounts, horizon)
  totals[i] = total
  local need
  if limit > 0 then need = math.min(amount, limit) else need = math.max(amount, 1) end
  if total + need > limit then
    refused[#refused + 1] = i
    local this_wait = span
    local entries = redis.call('ZRANGE', log, 0, -1, 'WITHSCORES')
    local freed = 0
    for j = 1, #entries, 2 do
      freed = freed + (tonumber(redis.call('HGET', amounts, entries[j])) or 0)
      if total - freed + need <= limit then
        this_wait = math.max(tonumber(entries[j + 1]) + span - now, 0)
        break
      end
    end
    if this_wait > wait then wait = this_wait end
  end
end
if #refused == 0 then
  for i = 1, count do
    local log, amounts = KEYS[2 * i - 1], KEYS[2 * i]
    local amount = tonumber(ARGV[5 + 2 * i])
    redis.call('ZADD', log, now_text, entry_id)
    redis.call('HSET', amounts, entry_id, amount)
    redis.call('HINCRBY', amounts, '__total', amount)
    redis.call('PEXPIRE', log, ttl)
    redis.call('PEXPIRE', amounts, ttl)
    totals[i] = totals[i] + amount
  end
end
local reply = {#refused == 0 and 1 or 0, string.format('%.17g', wait)}
for i = 1, count do
  reply[#reply + 1] = totals[i]
  reply[#reply + 1] = reset_after(KEYS[2 * i - 1], now, span)
end
for _, index in ipairs(refused) do reply[#reply + 1] = index end
return reply
"""
)

_RELEASE = """
local function release(prefix, record, reservation_id)
  for _, cap in ipairs(redis.call('SMEMBERS', record)) do
    redis.call('HDEL', prefix .. 'res:' .. cap, reservation_id)
  end
  redis.call('DEL', record)
end
"""

# KEYS: spend hash, reservation record.
# ARGV: prefix, reservation_id, now, amount, expires_at, ttl_ms, enforce, epsilon,
#       then cap name, limit pairs.
_RESERVE = (
    _RELEASE
    + """
local spend, record = KEYS[1], KEYS[2]
local prefix, reservation_id = ARGV[1], ARGV[2]
local now, amount = tonumber(ARGV[3]), tonumber(ARGV[4])
local ttl, enforce, epsilon = tonumber(ARGV[6]), ARGV[7] == '1', tonumber(ARGV[8])
release(prefix, record, reservation_id)
local shortfalls = {}
for i = 9, #ARGV, 2 do
  local cap, limit = ARGV[i], tonumber(ARGV[i + 1])
  local held = prefix .. 'res:' .. cap
  local reserved = 0
  local all = redis.call('HGETALL', held)
  for j = 1, #all, 2 do
    local value, expires = string.match(all[j + 1], '^([^|]+)|(.+)$')
    if tonumber(expires) <= now then
      redis.call('HDEL', held, all[j])
    else
      reserved = reserved + tonumber(value)
    end
  end
  local remaining = limit - (tonumber(redis.call('HGET', spend, cap)) or 0) - reserved
  if amount > remaining + epsilon then
    shortfalls[#shortfalls + 1] = cap
    shortfalls[#shortfalls + 1] = string.format('%.17g', remaining)
  end
end
if #shortfalls > 0 and enforce then
  table.insert(shortfalls, 1, 0)
  return shortfalls
end
local value = ARGV[4] .. '|' .. ARGV[5]
for i = 9, #ARGV, 2 do
  local held = prefix .. 'res:' .. ARGV[i]
  redis.call('HSET', held, reservation_id, value)
  if redis.call('PTTL', held) < ttl then redis.call('PEXPIRE', held, ttl) end
  redis.call('SADD', record, ARGV[i])
end
if #ARGV >= 9 then redis.call('PEXPIRE', record, ttl) end
table.insert(shortfalls, 1, 1)
return shortfalls
"""
)

# KEYS: none. ARGV: prefix, now, expires_at, ttl_ms, then reservation ids.
_RENEW = """
local prefix, now, expires_text, ttl = ARGV[1], tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4])
for i = 5, #ARGV do
  local id = ARGV[i]
  local record = prefix .. 'resv:' .. id
  for _, cap in ipairs(redis.call('SMEMBERS', record)) do
    local held = prefix .. 'res:' .. cap
    local value = redis.call('HGET', held, id)
    if value then
      local amount, expires = string.match(value, '^([^|]+)|(.+)$')
      if tonumber(expires) > now then
        redis.call('HSET', held, id, amount .. '|' .. expires_text)
        if redis.call('PTTL', held) < ttl then redis.call('PEXPIRE', held, ttl) end
      end
    end
  end
  if redis.call('EXISTS', record) == 1 then redis.call('PEXPIRE', record, ttl) end
end
return 1
"""

# KEYS: spend hash, reservation record, then per token window its log and amounts hash.
# ARGV: prefix, request_id, cost, now, horizon, ttl_ms, spend count, spend names...,
#       then one amount per token window.
_SETTLE = (
    _PRUNE
    + _RELEASE
    + """
local prefix, request_id, cost = ARGV[1], ARGV[2], ARGV[3]
local now_text, horizon, ttl = ARGV[4], ARGV[5], tonumber(ARGV[6])
local spend_count = tonumber(ARGV[7])
release(prefix, KEYS[2], request_id)
if tonumber(cost) ~= 0 then
  for i = 8, 7 + spend_count do redis.call('HINCRBYFLOAT', KEYS[1], ARGV[i], cost) end
end
local windows = math.floor((#KEYS - 2) / 2)
if #KEYS % 2 == 1 then redis.call('HSET', KEYS[#KEYS], ARGV[#ARGV - 1], ARGV[#ARGV]) end
for i = 1, windows do
  local log, amounts = KEYS[1 + 2 * i], KEYS[2 + 2 * i]
  local amount = tonumber(ARGV[7 + spend_count + i])
  prune(log, amounts, horizon)
  if redis.call('ZREM', log, request_id) == 1 then
    local old = tonumber(redis.call('HGET', amounts, request_id)) or 0
    redis.call('HDEL', amounts, request_id)
    redis.call('HINCRBY', amounts, '__total', -old)
  end
  if amount > 0 then
    redis.call('ZADD', log, now_text, request_id)
    redis.call('HSET', amounts, request_id, amount)
    redis.call('HINCRBY', amounts, '__total', amount)
    redis.call('PEXPIRE', log, ttl)
    redis.call('PEXPIRE', amounts, ttl)
  elseif redis.call('ZCARD', log) == 0 then
    redis.call('DEL', amounts)
  end
end
return 1
"""
)

# KEYS: per window, its log and its amounts hash. ARGV: horizon.
_USAGE = (
    _PRUNE
    + """
local reply = {}
for i = 1, #KEYS / 2 do reply[i] = prune(KEYS[2 * i - 1], KEYS[2 * i], ARGV[1]) end
return reply
"""
)


def redacted_url(url: str) -> str:
    """The URL without its credentials, for messages."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _number(value: Any) -> float:
    return float(value.decode() if isinstance(value, bytes) else value)


class RedisStateStore:
    settles_without_suspending = False

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
        """Create the client and ping. When the ping fails the client is kept (redis-py
        reconnects on the next command) and `StateUnavailableError` is raised."""
        if self._client is None:
            client = aioredis.from_url(
                self._url,
                socket_timeout=self._timeout,
                socket_connect_timeout=self._timeout,
                decode_responses=False,
            )
            self._scripts = {
                name: client.register_script(source)
                for name, source in (
                    ("hit", _HIT),
                    ("reserve", _RESERVE),
                    ("renew", _RENEW),
                    ("settle", _SETTLE),
                    ("usage", _USAGE),
                )
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

    async def _call(self, script: str, keys: Sequence[str], args: Sequence[object]) -> Any:
        if self._client is None:
            raise StateUnavailableError("the Redis state store is not started")
        try:
            return await self._scripts[script](keys=list(keys), args=list(args))
        except (RedisError, OSError) as error:
            raise self._error(error) from error

    def _window_keys(self, window: str) -> list[str]:
        log = f"{self._prefix}win:{window}"
        return [log, f"{log}:amt"]

    async def hit(
        self, entry_id: str, hits: Sequence[WindowHit], *, now: float, window_seconds: float
    ) -> HitOutcome:
        keys = [key for hit in hits for key in self._window_keys(hit.window)]
        args: list[object] = [
            entry_id,
            repr(now),
            repr(now - window_seconds),
            repr(window_seconds),
            math.ceil(window_seconds * 1000) + 1000,
        ]
        for hit in hits:
            args += [hit.limit, hit.amount]
        reply = await self._call("hit", keys, args)
        states = [
            WindowState(hit.window, hit.limit, int(reply[2 + 2 * i]), _number(reply[3 + 2 * i]))
            for i, hit in enumerate(hits)
        ]
        refused = [hits[int(index) - 1].window for index in reply[2 + 2 * len(hits) :]]
        return HitOutcome(int(reply[0]) == 1, states, _number(reply[1]), refused)

    def _record_keys(self, reservation_id: str) -> list[str]:
        return [f"{self._prefix}spend", f"{self._prefix}resv:{reservation_id}"]

    async def reserve(
        self,
        reservation_id: str,
        caps: Sequence[Cap],
        amount: float,
        *,
        now: float,
        expires_at: float,
        enforce: bool,
    ) -> ReserveOutcome:
        ttl_ms = max(math.ceil((expires_at - now) * 1000), 1)
        args: list[object] = [
            self._prefix,
            reservation_id,
            repr(now),
            repr(amount),
            repr(expires_at),
            ttl_ms,
            "1" if enforce else "0",
            repr(AMOUNT_EPSILON),
        ]
        for cap in caps:
            args += [cap.name, repr(cap.limit)]
        reply = await self._call("reserve", self._record_keys(reservation_id), args)
        limits = {cap.name: cap.limit for cap in caps}
        shortfalls = []
        for index in range(1, len(reply), 2):
            name = reply[index].decode() if isinstance(reply[index], bytes) else str(reply[index])
            shortfalls.append(CapShortfall(name, limits[name], _number(reply[index + 1])))
        return ReserveOutcome(int(reply[0]) == 1, shortfalls)

    async def renew(self, reservation_ids: Sequence[str], *, now: float, expires_at: float) -> None:
        ttl_ms = max(math.ceil((expires_at - now) * 1000), 1)
        args: list[object] = [self._prefix, repr(now), repr(expires_at), ttl_ms]
        await self._call("renew", [], [*args, *reservation_ids])

    async def settle(
        self,
        request_id: str,
        spend: Sequence[str],
        cost: float,
        *,
        now: float,
        tokens: Sequence[tuple[str, int]] = (),
        window_seconds: float,
        record: HashRecord | None = None,
    ) -> None:
        keys = self._record_keys(request_id)
        for window, _ in tokens:
            keys += self._window_keys(window)
        if record is not None:  # an odd number of keys: the last one is the record's hash
            keys.append(self._prefix + "h:" + record.key)
        args: list[object] = [
            self._prefix,
            request_id,
            repr(cost),
            repr(now),
            repr(now - window_seconds),
            math.ceil(window_seconds * 1000) + 1000,
            len(spend),
            *spend,
            *(amount for _, amount in tokens),
        ]
        if record is not None:
            args += [record.field, record.value]
        await self._call("settle", keys, args)

    async def usage(
        self, windows: Sequence[str], *, now: float, window_seconds: float
    ) -> dict[str, int]:
        if not windows:
            return {}
        keys = [key for window in windows for key in self._window_keys(window)]
        reply = await self._call("usage", keys, [repr(now - window_seconds)])
        return {window: int(total) for window, total in zip(windows, reply, strict=True)}

    async def spend(self) -> dict[str, float]:
        if self._client is None:
            raise StateUnavailableError("the Redis state store is not started")
        try:
            raw = await self._client.hgetall(f"{self._prefix}spend")
        except (RedisError, OSError) as error:
            raise self._error(error) from error
        return {
            (name.decode() if isinstance(name, bytes) else str(name)): _number(value)
            for name, value in raw.items()
        }

    async def _plain(self, operation: Callable[[aioredis.Redis], Awaitable[T]]) -> T:
        if self._client is None:
            raise StateUnavailableError("the Redis state store is not started")
        try:
            return await operation(self._client)
        except (RedisError, OSError) as error:
            raise self._error(error) from error

    async def hash_set(self, key: str, field: str, value: str, *, only_new: bool = False) -> bool:
        name = self._prefix + "h:" + key
        if only_new:
            return bool(await self._plain(lambda r: r.hsetnx(name, field, value)))
        await self._plain(lambda r: r.hset(name, field, value))
        return True

    async def hash_incr(self, key: str, field: str) -> int:
        name = self._prefix + "h:" + key
        return int(await self._plain(lambda r: r.hincrby(name, field, 1)))

    async def hash_get(self, key: str, field: str) -> str | None:
        name = self._prefix + "h:" + key
        value = await self._plain(lambda r: r.hget(name, field))
        return None if value is None else _text(value)

    async def hash_all(self, key: str) -> dict[str, str]:
        name = self._prefix + "h:" + key
        values = await self._plain(lambda r: r.hgetall(name))
        return {_text(k): _text(v) for k, v in values.items()}

    async def counters_add(
        self, increments: Mapping[str, Mapping[str, int | float]], *, ttl_seconds: int
    ) -> None:
        """Add to the counters of several hashes (name -> field -> amount) in one round
        trip; each hash expires `ttl_seconds` after its last write."""

        async def operation(client: aioredis.Redis) -> None:
            pipe = client.pipeline(transaction=False)
            for key, fields in increments.items():
                name = self._prefix + "c:" + key
                for field, amount in fields.items():
                    if isinstance(amount, int):
                        pipe.hincrby(name, field, amount)
                    else:
                        pipe.hincrbyfloat(name, field, amount)
                pipe.expire(name, ttl_seconds)
            await pipe.execute()

        if increments:
            await self._plain(operation)

    async def counters(self, keys: Sequence[str]) -> list[dict[str, float]]:
        """The counters of each hash of `keys` (empty for an absent one), in order."""

        async def operation(client: aioredis.Redis) -> list[Any]:
            pipe = client.pipeline(transaction=False)
            for key in keys:
                pipe.hgetall(self._prefix + "c:" + key)
            return list(await pipe.execute())

        replies = await self._plain(operation)
        return [{_text(k): float(_text(v)) for k, v in reply.items()} for reply in replies]


T = TypeVar("T")


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
