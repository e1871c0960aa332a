"""`proxy.files`: the `/v1/files` operations as calls, each authenticated by the caller's
key; a virtual key sees only its own files, the master key every file."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING

from .auth import Authenticator
from .errors import BadRequestError

if TYPE_CHECKING:  # OpenDAL is slow to import: the store is built with a Proxy
    from .storage.files import FileDeleted, FileList, FileObject, FileStore

__all__ = ["FilesAPI"]


class FilesAPI:
    def __init__(self, auth: Authenticator, store: FileStore) -> None:
        self._auth = auth
        self._store = store

    def owner(self, api_key: str | None) -> str | None:
        """The owner id files are stored under for this key (None: the master key).
        Raises `AuthenticationError` first, so uploads can be refused before reading."""
        caller = self._auth.authenticate(api_key)
        return None if caller.is_master else caller.identity

    async def create(
        self,
        *,
        api_key: str | None,
        filename: str,
        purpose: str | Callable[[], str],
        chunks: AsyncIterator[bytes],
    ) -> FileObject:
        owner = self.owner(api_key)
        return await self._store.create(
            owner=owner, filename=filename, purpose=purpose, chunks=chunks
        )

    async def list(
        self,
        *,
        api_key: str | None,
        purpose: str | None = None,
        limit: int = 10000,
        after: str | None = None,
        order: str = "desc",
    ) -> FileList:
        owner = self.owner(api_key)
        if order not in ("asc", "desc"):
            raise BadRequestError("order must be 'asc' or 'desc'", param="order")
        return await self._store.list(
            owner=owner,
            purpose=purpose,
            limit=limit,
            after=after,
            order="asc" if order == "asc" else "desc",
        )

    async def retrieve(self, file_id: str, *, api_key: str | None) -> FileObject:
        return await self._store.retrieve(owner=self.owner(api_key), file_id=file_id)

    async def content(self, file_id: str, *, api_key: str | None) -> AsyncIterator[bytes]:
        return await self._store.content(owner=self.owner(api_key), file_id=file_id)

    async def delete(self, file_id: str, *, api_key: str | None) -> FileDeleted:
        return await self._store.delete(owner=self.owner(api_key), file_id=file_id)
