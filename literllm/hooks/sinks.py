"""Built-in callbacks: a JSON-lines request log on any OpenDAL storage, and a webhook.

Both are ordinary `on_complete` hooks, configured by path:

    [[hooks]]
    path = "literllm.hooks.sinks:request_log"
    [hooks.settings]
    backend = "s3"
    backend_config = { bucket = "logs", region = "eu-west-1" }

Records are queued by `on_complete` (no I/O on the request path) and written in
batches by a background task; see `batcher`.
"""

from __future__ import annotations

import datetime
import logging
import secrets
from collections.abc import Mapping
from typing import Any

import msgspec

from ..clock import Clock, SystemClock
from ..types import UpstreamRequest
from .base import Completion, Hook, RequestContext
from .batcher import Batcher
from .records import RecordBuilder

__all__ = ["RequestLogSink", "WebhookSink", "request_log", "webhook"]

log = logging.getLogger("literllm.hooks")
_encode = msgspec.json.Encoder().encode
OptionValue = str | int | float | bool


class RequestLogSink(Hook):
    """One JSON line per request, one new object per batch under `prefix` (object
    stores cannot append): `{prefix}YYYY/MM/DD/HHMMSS-<seq>-<random>.jsonl`."""

    name = "request_log"

    def __init__(
        self,
        *,
        backend: str,
        backend_config: Mapping[str, OptionValue],
        prefix: str = "request-logs/",
        bodies: bool = False,
        batch_size: int = 100,
        flush_interval_secs: float = 5.0,
        max_pending: int = 10_000,
        clock: Clock | None = None,
    ) -> None:
        from ..storage.blob import build_operator

        self._operator = build_operator(backend, backend_config, table="hooks.settings")
        self._prefix = prefix
        self._records = RecordBuilder(bodies=bodies)
        self.wants_response = bodies
        self._clock = clock or SystemClock()
        self._sequence = 0
        self._run = secrets.token_hex(4)
        self.batcher = Batcher(
            self._write,
            name="request_log",
            batch_size=batch_size,
            flush_interval=flush_interval_secs,
            max_pending=max_pending,
        )

    async def start(self) -> None:
        self.batcher.start()

    async def on_complete(self, ctx: RequestContext, completion: Completion) -> None:
        self.batcher.add(self._records.build(ctx, completion))

    async def _write(self, batch: list[Any]) -> None:
        now = datetime.datetime.fromtimestamp(self._clock.time(), datetime.UTC)
        self._sequence += 1
        name = f"{self._prefix}{now:%Y/%m/%d/%H%M%S}-{self._sequence:06d}-{self._run}.jsonl"
        await self._operator.write(name, b"".join(_encode(r) + b"\n" for r in batch))

    async def aclose(self) -> None:
        await self.batcher.aclose()


class WebhookSink(Hook):
    """POSTs each batch as a JSON array to `url`; a failed POST (connection error,
    timeout, 429 or 5xx) is retried with exponential backoff, then dropped and logged."""

    name = "webhook"

    def __init__(
        self,
        *,
        url: str,
        headers: Mapping[str, str] | None = None,
        bodies: bool = False,
        batch_size: int = 50,
        flush_interval_secs: float = 2.0,
        max_pending: int = 10_000,
        max_retries: int = 5,
        backoff_base_secs: float = 0.5,
        backoff_max_secs: float = 30.0,
        timeout_secs: float = 10.0,
        transport: Any = None,
        clock: Clock | None = None,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError("url must start with http:// or https://")
        self._url = url
        self._headers = {"content-type": "application/json", **(headers or {})}
        self._records = RecordBuilder(bodies=bodies)
        self.wants_response = bodies
        self._retries = max_retries
        self._base = backoff_base_secs
        self._cap = backoff_max_secs
        self._timeout = timeout_secs
        self._transport = transport
        self._clock = clock or SystemClock()
        self.batcher = Batcher(
            self._post,
            name="webhook",
            batch_size=batch_size,
            flush_interval=flush_interval_secs,
            max_pending=max_pending,
        )

    async def start(self) -> None:
        if self._transport is None:
            from ..transport.client import HttpTransport

            self._transport = HttpTransport()
        self.batcher.start()

    async def on_complete(self, ctx: RequestContext, completion: Completion) -> None:
        self.batcher.add(self._records.build(ctx, completion))

    async def _post(self, batch: list[Any]) -> None:
        request = UpstreamRequest("POST", self._url, self._headers, _encode(batch))
        reason = ""
        for attempt in range(self._retries + 1):
            if attempt:
                await self._clock.sleep(min(self._cap, self._base * 2 ** (attempt - 1)))
            try:
                response = await self._transport.send(request, timeout=self._timeout)
            except Exception as error:  # connection refused, timeout
                reason = str(error) or type(error).__name__
                continue
            if response.status < 400:
                return
            reason = f"status {response.status}"
            if response.status != 429 and response.status < 500:
                break  # the receiver refuses this batch: retrying will not help
        raise RuntimeError(f"webhook {self._url} failed ({reason})")

    async def aclose(self) -> None:
        await self.batcher.aclose()
        transport, self._transport = self._transport, None
        if transport is not None:
            await transport.aclose()


request_log = RequestLogSink
"""`[[hooks]] path = "literllm.hooks.sinks:request_log"`."""
webhook = WebhookSink
"""`[[hooks]] path = "literllm.hooks.sinks:webhook"`."""
