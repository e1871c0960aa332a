"""The HTTP client's connections: how many may be open (per host and in all), which
idle ones may be reused, and the queue of calls waiting for one.

Every open connection (busy, idle, or being connected) holds a slot of its host and of
the total. A call that finds no idle connection and no free slot waits in one FIFO queue;
a connection coming back goes to the first waiter for its host, a freed slot to the first
waiter that may use it. Idle connections expire after `idle_timeout` seconds, below the
keep-alive time of common servers, so a connection the server is about to close (or one
that went silently dead) is not picked.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

from .wire import Connection, OriginKey

__all__ = ["Pool", "PoolTimeout"]

_IDLE_PER_HOST = 256
"""Idle connections kept per host; more are closed when they come back."""


class PoolTimeout(Exception):
    """No connection became free in time."""

    def __init__(self, key: OriginKey, waited: float, per_host: bool) -> None:
        super().__init__(key, waited, per_host)
        self.host = key[1]
        self.waited = waited
        self.per_host = per_host


def _still_quiet(connection: Connection) -> bool:
    """An idle connection must have nothing to read: bytes or an end of file waiting in
    the kernel, not yet seen by the event loop (the server closed it, or sent something
    unasked), make it unusable. One poll of the socket, no wait."""
    poller = connection.poller
    if poller is None:
        return True  # no socket to ask (a connection driven without one)
    try:
        return not poller.poll(0)
    except (OSError, ValueError):
        return False


class Pool:
    def __init__(
        self,
        *,
        max_connections: int,
        max_per_host: int,
        idle_timeout: float,
        now: Callable[[], float],
    ) -> None:
        if max_connections < 1 or max_per_host < 1:
            raise ValueError("connection limits must be at least 1")
        self.max_connections = max_connections
        self.max_per_host = max_per_host
        self.idle_timeout = idle_timeout
        self._now = now
        self._idle: dict[OriginKey, list[Connection]] = {}
        self._per_host: dict[OriginKey, int] = {}
        self._total = 0
        self._open: set[Connection] = set()
        self._waiters: deque[tuple[OriginKey, asyncio.Future[Connection | None]]] = deque()
        self._closed = False
        """Set by `close_all`: a call in flight then closes its connection at its end."""

    @property
    def total(self) -> int:
        return self._total

    def open_for(self, key: OriginKey) -> int:
        return self._per_host.get(key, 0)

    # -- taking ----------------------------------------------------------------------

    def take(self, key: OriginKey) -> Connection | None:
        """An idle connection to reuse, if there is one (no wait)."""
        self._closed = False  # used again after close_all(): pooling as before
        return self._take_idle(key) if self._idle.get(key) else None

    async def acquire(self, key: OriginKey, timeout: float) -> Connection | None:
        """After `take` found none: None once a slot is reserved (connect, then call
        `opened()`, or `unreserve()` if connecting fails), or a connection another call
        gave back while this one waited. PoolTimeout after `timeout`."""
        connection = self._take_idle(key)
        if connection is not None:
            return connection
        if self._may_open(key):
            self._reserve(key)
            return None
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Connection | None] = loop.create_future()
        entry = (key, waiter)
        self._waiters.append(entry)
        per_host = self._per_host.get(key, 0) >= self.max_per_host
        timer = loop.call_later(
            max(timeout, 0), _expire, waiter, PoolTimeout(key, timeout, per_host)
        )
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self._give_back(key, waiter.result())  # granted, but the caller left
            raise
        finally:
            timer.cancel()
            if entry in self._waiters:
                self._waiters.remove(entry)

    def _give_back(self, key: OriginKey, granted: Connection | None) -> None:
        if granted is None:
            self.unreserve(key)
        else:
            self.release(granted)

    def _take_idle(self, key: OriginKey) -> Connection | None:
        idle = self._idle.get(key)
        if not idle:
            return None
        now = self._now()
        limit = self.idle_timeout
        while idle and now - idle[0].idle_since >= limit:
            self.discard(idle.pop(0))  # the oldest first: expired
        while idle:
            connection = idle.pop()
            transport = connection.transport
            if (
                not connection.closed
                and transport is not None
                and not transport.is_closing()
                and _still_quiet(connection)
            ):
                return connection
            self.discard(connection)
        return None

    def _may_open(self, key: OriginKey) -> bool:
        if self._per_host.get(key, 0) >= self.max_per_host:
            return False
        return self._total < self.max_connections or self._evict_idle(key)

    def _evict_idle(self, key: OriginKey) -> bool:
        """At the total cap: close the oldest idle connection to another host."""
        for other, idle in self._idle.items():
            if other != key and idle:
                self.discard(idle.pop(0))
                return True
        return False

    def _reserve(self, key: OriginKey) -> None:
        self._per_host[key] = self._per_host.get(key, 0) + 1
        self._total += 1

    def unreserve(self, key: OriginKey) -> None:
        """A reserved slot that never became a connection."""
        self._free(key)

    def opened(self, connection: Connection) -> None:
        """The connection for a reserved slot is up."""
        self._open.add(connection)

    # -- giving back -------------------------------------------------------------------

    def release(self, connection: Connection) -> None:
        """The call is over: keep the connection for reuse if it may be, else close it."""
        if self._closed or not connection.reusable():
            self.discard(connection)
            return
        key = connection.key
        for entry in self._waiters:
            if entry[0] == key and not entry[1].done():
                self._waiters.remove(entry)
                entry[1].set_result(connection)
                return
        if self._total >= self.max_connections and self._first_waiter() is not None:
            self.discard(connection)  # its slot goes to a call to another host
            return
        connection.idle_since = self._now()
        idle = self._idle.setdefault(key, [])
        idle.append(connection)
        if len(idle) > _IDLE_PER_HOST:
            self.discard(idle.pop(0))

    def discard(self, connection: Connection) -> None:
        """Close the connection and free its slot."""
        connection.close()
        if connection in self._open:
            self._open.discard(connection)
            self._free(connection.key)

    def _free(self, key: OriginKey) -> None:
        count = self._per_host.get(key, 0) - 1
        if count > 0:
            self._per_host[key] = count
        else:
            self._per_host.pop(key, None)
        self._total -= 1
        entry = self._first_waiter() if self._total < self.max_connections else None
        if entry is not None:
            self._waiters.remove(entry)
            self._reserve(entry[0])
            entry[1].set_result(None)

    def _first_waiter(self) -> tuple[OriginKey, asyncio.Future[Connection | None]] | None:
        for entry in self._waiters:
            key, waiter = entry
            if waiter.done():
                continue
            if self._per_host.get(key, 0) < self.max_per_host:
                return entry
        return None

    def close_all(self) -> None:
        """Close every connection. A call still connecting or waiting for its answer
        keeps its slot and closes its connection when it ends, so none is left open."""
        self._closed = True
        self._idle.clear()
        for connection in list(self._open):
            self.discard(connection)


def _expire(waiter: asyncio.Future[Connection | None], error: PoolTimeout) -> None:
    if not waiter.done():
        waiter.set_exception(error)
