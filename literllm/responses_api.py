"""`proxy.responses`: OpenAI's Responses API as calls, for any provider.

Each request is translated to chat completions and runs the same journey as chat
(`Exchange`: limits, budgets, routing, fallbacks, cost, tracing). With `store` (the
default) the answer, its input items and the conversation before it are kept in the
`[files]` backend, so `previous_response_id` continues a conversation across requests
and restarts whatever provider answers each turn. A virtual key sees only its own
responses; the master key sees all.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, NoReturn

import msgspec

from .auth import Authenticator, Caller
from .errors import BadRequestError, LiterLLMError
from .exchange import Exchange
from .outcome import Outcome
from .protocols.responses import input_items, new_id, with_history
from .protocols.responses import validate_responses as _validate
from .requests import decode_body
from .results import ChatStream, Response
from .routing.inbound import ResponsesInbound
from .state.base import HashRecord
from .storage.responses import ResponseDeleted, ResponseItemList, StoredResponse

if TYPE_CHECKING:
    from .services import Services
    from .storage.responses import ResponseStore

__all__ = ["ResponsesAPI"]

_log = logging.getLogger("literllm.responses")
_decode = msgspec.json.decode


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
            previous_source: str | None = None
            previous = request.get("previous_response_id")
            if previous:
                record = await self._store.get(previous, self._owner(caller))
                history = [
                    *record.get("history", ()),
                    *record.get("input", ()),
                    *record["response"].get("output", ()),
                ]
                source = record.get("source")
                previous_source = source if isinstance(source, str) else None
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
        # Hooks see (and may change in place) the conversation: the earlier turns'
        # items, then the request's input. Stored history is what they left.
        request = with_history(request, history)
        inbound = ResponsesInbound(
            request,
            history,
            previous_source=previous_source,
            response_id=new_id("resp_"),
            created_at=int(self._services.clock.time()),
            router=self._services.dispatcher.router,
        )
        exchange = Exchange(self._services, caller, request, "responses", headers, outcome, inbound)
        exchange.settle_record = settle_record
        store = request.get("store", True) is not False

        async def keep(response: dict[str, Any] | None) -> None:
            if not store or response is None:
                return
            record = {
                "owner": caller.identity,
                "response": response,
                "input": input_items({"input": inbound.own_input()}),
                "history": [item for item in request.get("input") or () if id(item) in earlier],
            }
            if inbound.source is None:
                await self._store.put(response["id"], record)
                return
            # An upstream's id: never let it overwrite a record (another key's, even).
            record["source"] = inbound.source
            if not await self._store.put_new(response.get("id"), record):
                _log.warning(
                    "a response from %s was not stored: its id is malformed or already taken",
                    exchange.log.deployment.label if exchange.log.deployment else "-",
                )

        def final() -> dict[str, Any] | None:
            """A stream's final Response as the client got it: as stream hooks left it
            when they rewrote a native stream, else as relayed or translated."""
            hooks = exchange.hooks
            if hooks is not None and hooks.streams and inbound.native_stream:
                return hooks.final_response
            return inbound.streamed_response()

        earlier = {id(item) for item in history}
        if request.get("stream") is True:
            stream = await exchange.stream()
            return _storing(stream, final, keep)
        answer = await exchange.complete()
        # what the client got (after any after_response hook), not what came upstream
        if inbound.response is not None and exchange.hooks is not None:
            await keep(_decode(answer.body))
        else:
            await keep(inbound.response)
        return answer

    async def _record(self, response_id: str, api_key: str | None) -> dict[str, Any]:
        caller = self._auth.authenticate(api_key)
        return await self._store.get(response_id, self._owner(caller))

    async def retrieve(self, response_id: str, *, api_key: str | None) -> StoredResponse:
        """`GET /v1/responses/{id}`: the stored Response object."""
        record = await self._record(response_id, api_key)
        return StoredResponse.from_dict(record["response"])

    async def delete(self, response_id: str, *, api_key: str | None) -> ResponseDeleted:
        """`DELETE /v1/responses/{id}`: the gateway's record (an OpenAI upstream keeps
        its own copy of a natively passed response until it expires there)."""
        caller = self._auth.authenticate(api_key)
        await self._store.delete(response_id, self._owner(caller))
        return ResponseDeleted(id=response_id, object="response", deleted=True)

    async def cancel(self, response_id: str, *, api_key: str | None) -> NoReturn:
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
    ) -> ResponseItemList:
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
        return ResponseItemList(
            object="list",
            data=page,
            first_id=page[0]["id"] if page else None,
            last_id=page[-1]["id"] if page else None,
            has_more=len(items) > limit,
        )


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
