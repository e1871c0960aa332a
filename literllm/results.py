"""What `Proxy` calls return: a finished JSON answer, or a stream of chunks."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import msgspec

__all__ = ["ChatStream", "Response"]


class Response:
    """A finished answer: OpenAI-shaped JSON bytes plus the gateway's headers."""

    __slots__ = ("body", "content_type", "headers", "status")

    def __init__(
        self,
        body: bytes,
        headers: dict[str, str] | None = None,
        status: int = 200,
        content_type: str = "application/json",
    ) -> None:
        self.body = body
        self.headers = headers if headers is not None else {}
        self.status = status
        self.content_type = content_type
        """Audio transcripts in text, srt or vtt are not JSON."""

    def json(self) -> Any:
        return msgspec.json.decode(self.body)

    def __repr__(self) -> str:
        return f"Response(status={self.status}, body={self.body[:80]!r}...)"


class ChatStream:
    """An open chat-completion stream.

    Iterate it for the JSON payload of each OpenAI chunk (bytes, no SSE framing) as it
    arrives; `json_chunks()` gives decoded dicts and `batches()` the chunks grouped as
    they arrived together. A failure after the first chunk raises the gateway's error
    from the iteration. Always `aclose()` (or iterate to the end): it settles usage and
    releases the upstream connection.
    """

    def __init__(
        self,
        batches: AsyncIterator[list[bytes]],
        headers: dict[str, str],
        close: Callable[[], Awaitable[None]],
    ) -> None:
        self._batches = batches
        self.headers = headers
        self._close = close
        self._closed = False

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[bytes]:
        async for batch in self._batches:
            for chunk in batch:
                yield chunk

    def batches(self) -> AsyncIterator[list[bytes]]:
        return self._batches

    async def json_chunks(self) -> AsyncIterator[dict[str, Any]]:
        async for chunk in self._chunks():
            yield msgspec.json.decode(chunk)

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            await self._close()

    async def __aenter__(self) -> ChatStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
