"""Clients a test server closes when it stops, so none is left to the garbage collector:
an SDK or httpx client dropped open keeps its keep-alive socket until the collector
reaches it, and its ResourceWarning then fails whichever test runs at that moment."""

from __future__ import annotations

from typing import Protocol, TypeVar


class Closable(Protocol):
    def close(self) -> None: ...


C = TypeVar("C", bound=Closable)


class ClosesClients:
    """`track(client)` returns the client and closes it in `close_clients()`."""

    _clients: list[Closable]

    def track(self, client: C) -> C:
        if not hasattr(self, "_clients"):
            self._clients = []
        self._clients.append(client)
        return client

    def close_clients(self) -> None:
        for client in getattr(self, "_clients", []):
            client.close()
        self._clients = []
