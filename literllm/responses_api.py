"""`proxy.responses`: OpenAI's Responses API as calls, for any provider.

Each request is translated to chat completions and runs the same journey as chat
(`Exchange`: limits, budgets, routing, fallbacks, cost, tracing). With `store` (the
default) the answer, its input items and the conversation before it are kept in the
`[files]` backend, so `previous_response_id` continues a conversation across requests
and restarts whatever provider answers each turn. A virtual key sees only its own
responses; the master key sees all.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from .auth import Authenticator, Caller
from .errors import BadRequestError, LiterLLMError
from .exchange import Exchange
from .outcome import Outcome
from .protocols.responses import input_items, new_id, responses_to_chat
from .protocols.responses import validate_responses as _validate
from .requests import decode_body
from .results import ChatStream, Response
from .routing.inbound import ResponsesInbound
from .state.base import HashRecord

if TYPE_CHECKING:
    from .services import Services
    from .storage.responses import ResponseStore

__all__ = ["ResponsesAPI"]


class ResponsesAPI:
    def __init__(self, auth: Authenticator, services: Services, store: ResponseStore) -> None:
        self._auth = auth
        self._services = services
        self._store = store

    @staticmethod
    def _owner(caller: Caller) -> str | None:
        return None if caller.is_master else caller.identity

    async def create(
        self,
        body: bytes | Mapping[str, Any],
        *,
        api_key: str | None,
        headers: Mapping[str, str] | None = None,
        outcome: Outcome | None = None,
        caller: Caller | None = None,
        settle_record: Callable[[bytes, float], HashRecord] | None = None,
    ) -> Response | ChatStream:
        """`POST /v1/responses`: a `Response` with the Response object, or for
        `stream: true` a `ChatStream` whose items are framed Responses events.
        `caller` and `settle_record`: a batch line, run as the batch's key (no
        `api_key`), its result written with its spend."""
        model, key = "-", "-"
        try:
            caller = caller if caller is not None else self._auth.authenticate(api_key)
            key = caller.description
            request = decode_body(body)
            if isinstance(request.get("model"), str):
                model = request["model"]
            _validate(request)
            caller.check_model(model)
            history: list[dict[str, Any]] = []
            previous = request.get("previous_response_id")
            if previous:
                record = await self._store.get(previous, self._owner(caller))
                history = [
                    *record.get("history", ()),
                    *record.get("input", ()),
                    *record["response"].get("output", ()),
                ]
            items = input_items(request)
            chat = responses_to_chat({**request, "input": items}, history)
        except LiterLLMError as error:
            if outcome is not None:
                outcome.model, outcome.key, outcome.status = model, key, error.status
                outcome.error_type = error.error_type
                if caller is not None:
                    outcome.key_id = caller.identity
            self._services.metrics.observe_request(
                model=model, deployment="-", key=key, status=error.status, duration=0.0
            )
            raise
        inbound = ResponsesInbound(
            request,
            chat,
            response_id=new_id("resp_"),
            created_at=int(self._services.clock.time()),
        )
        exchange = Exchange(self._services, caller, chat, "responses", headers, outcome, inbound)
        exchange.settle_record = settle_record
        store = request.get("store", True) is not False

        async def keep(response: dict[str, Any] | None) -> None:
            if store and response is not None:
                record = {
                    "owner": caller.identity,
                    "response": response,
                    "input": items,
                    "history": history,
                }
                await self._store.put(response["id"], record)

        if request.get("stream") is True:
            stream = await exchange.stream()
            return _storing(stream, inbound.streamed_response, keep)
        answer = await exchange.complete()
        # stored as answered: after_response hooks may have changed it (redacted it)
        await keep(answer.json() if exchange.hooks is not None else inbound.response)
        return answer

    async def _record(self, response_id: str, api_key: str | None) -> dict[str, Any]:
        caller = self._auth.authenticate(api_key)
        return await self._store.get(response_id, self._owner(caller))

    async def retrieve(self, response_id: str, *, api_key: str | None) -> dict[str, Any]:
        """`GET /v1/responses/{id}`: the stored Response object."""
        record = await self._record(response_id, api_key)
        response: dict[str, Any] = record["response"]
        return response

    async def delete(self, response_id: str, *, api_key: str | None) -> dict[str, Any]:
        caller = self._auth.authenticate(api_key)
        await self._store.delete(response_id, self._owner(caller))
        return {"id": response_id, "object": "response", "deleted": True}

    async def cancel(self, response_id: str, *, api_key: str | None) -> dict[str, Any]:
        """Only background responses can be cancelled, and the gateway runs none."""
        await self._record(response_id, api_key)
        raise BadRequestError(
            "only background responses can be cancelled; this response has already "
            "finished (the gateway does not run background responses)",
            param="response_id",
        )

    async def input_items(
        self,
        response_id: str,
        *,
        api_key: str | None,
        limit: int = 20,
        order: str = "desc",
        after: str | None = None,
    ) -> dict[str, Any]:
        """`GET /v1/responses/{id}/input_items`: the items the model was given (the
        conversation before it and the request's input), paginated like OpenAI's."""
        if order not in ("asc", "desc"):
            raise BadRequestError("order must be 'asc' or 'desc'", param="order")
        if not 1 <= limit <= 100:
            raise BadRequestError("limit must be between 1 and 100", param="limit")
        record = await self._record(response_id, api_key)
        items = [
            *record.get("history", ()),
            *record.get("input", ()),
        ]
        items = [i for i in items if isinstance(i, dict) and i.get("id")]
        if order == "desc":
            items.reverse()
        if after is not None:
            ids = [i["id"] for i in items]
            items = items[ids.index(after) + 1 :] if after in ids else []
        page = items[:limit]
        return {
            "object": "list",
            "data": page,
            "first_id": page[0]["id"] if page else None,
            "last_id": page[-1]["id"] if page else None,
            "has_more": len(items) > limit,
        }


def _storing(
    stream: ChatStream,
    final: Callable[[], dict[str, Any] | None],
    keep: Callable[[dict[str, Any] | None], Awaitable[None]],
) -> ChatStream:
    """`stream`, storing the final Response before the batch that completes it is
    relayed, so a client that saw `response.completed` can retrieve it at once."""

    async def relay() -> AsyncGenerator[list[bytes], None]:
        kept = False
        async for batch in stream.batches():
            if not kept and final() is not None:
                kept = True
                await keep(final())
            yield batch

    batches = relay()

    async def close() -> None:
        await batches.aclose()
        await stream.aclose()

    return ChatStream(batches, stream.headers, close)
