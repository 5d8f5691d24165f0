"""The ASGI layer in front of the Stripe routes: faults, API keys, idempotency, then saving state
and handing new events to the webhook dispatcher once the answer is sent.

It sits outside Starlette so it can buffer a route's answer (to store it under an idempotency
key) and, for a `drop` fault, close the client's connection after the write was applied.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import re
from collections import deque
from typing import Any

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stripe_local.events import current_request
from stripe_local.faults import Fault, FaultPlan
from stripe_local.idempotency import IdempotencyLedger, fingerprint
from stripe_local.store import Store, new_id
from stripe_local.webhooks import Dispatcher
from stripe_local.wire import ApiError, decode_form

_API_KEY = re.compile(r"(sk|rk)_(test|live)_[A-Za-z0-9_]+")
_NO_KEY = (
    "You did not provide an API key. You need to provide your API key in the Authorization header, "
    "using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY')."
)
Answer = tuple[int, bytes, dict[str, str]]
log = logging.getLogger(__name__)


def api_key_of(headers: Headers) -> str:
    scheme, _, credential = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic":  # curl -u sk_test_...: sends the key as the user name
        try:
            credential = base64.b64decode(credential + "==").decode(errors="replace").split(":")[0]
        except binascii.Error:
            credential = ""
    elif scheme.lower() != "bearer":
        credential = ""
    if not credential:
        raise ApiError(401, _NO_KEY)
    if not _API_KEY.fullmatch(credential):
        raise ApiError(401, f"Invalid API Key provided: {credential[:8]}****{credential[-4:]}")
    return credential


def fault_answer(fault: Fault) -> Answer:
    if fault.kind == "rate_limit":
        error = ApiError(
            429,
            "Too many requests hit the API too quickly. We recommend an exponential backoff of your requests.",
            code="rate_limit",
            headers={"Retry-After": str(fault.retry_after), "Stripe-Should-Retry": "true"},
        )
    else:
        error = ApiError(fault.status, "An unknown error occurred on Stripe's side (injected fault).", type="api_error")
    return error.status, json.dumps(error.body(), separators=(",", ":")).encode(), error.headers


class ClientGone(Exception):
    """The client hung up before its request body arrived whole."""


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            # Stripe never runs a request it did not receive whole. Running the part that arrived
            # would also claim its idempotency key with a truncated fingerprint, so the client's
            # honest retry of the whole request would be refused as "other parameters".
            raise ClientGone
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _drop_connection(send: Send) -> None:
    # ASGI has no message for "close without answering"; uvicorn's `send` is a method of the
    # request cycle that owns the socket transport, so abort that transport directly.
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None:
        raise RuntimeError("a 'drop' fault needs the server to be run by uvicorn")
    transport.abort()
    await asyncio.sleep(0)  # let uvicorn see the connection lost before this request returns


class Edge:
    def __init__(
        self,
        app: ASGIApp,
        store: Store,
        ledger: IdempotencyLedger,
        faults: FaultPlan,
        dispatcher: Dispatcher,
        request_log: deque[dict[str, Any]],
    ) -> None:
        self.app = app
        self.store = store
        self.ledger = ledger
        self.faults = faults
        self.dispatcher = dispatcher
        self.request_log = request_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"].startswith("/v1/"):
            await self._api_request(scope, receive, send)
        else:
            await self.app(scope, receive, self._durably(send))  # the /_test controls: no key, no faults
        self._flush_outbox()

    def _durably(self, send: Send) -> Send:
        """What a request changed is on disk before its answer leaves (store.commit)."""

        async def committed_first(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.store.commit()
            await send(message)

        return committed_first

    def _flush_outbox(self) -> None:
        with self.store.lock:
            queued = list(self.store.outbox)
            self.store.outbox.clear()
        for event_id, endpoint_id in queued:
            self.dispatcher.send(event_id, endpoint_id)

    async def _api_request(self, scope: Scope, receive: Receive, send: Send) -> None:
        method, path = scope["method"], scope["path"]
        headers = Headers(scope=scope)
        request_id = new_id("req_", 14)
        idempotency_key = headers.get("idempotency-key") if method == "POST" else None
        fault = self.faults.take(method, path)
        entry: dict[str, Any] = {
            "method": method,
            "path": path,
            "idempotency_key": idempotency_key,
            "request_id": request_id,
            "fault": fault.kind if fault else None,
            "replayed": False,
        }
        self.request_log.append(entry)
        try:
            status, body, extra = await self._answer(scope, receive, headers, request_id, idempotency_key, fault, entry)
        except ClientGone:
            entry["status"] = "client_gone"
            return
        except ApiError as error:
            status, body, extra = error.status, json.dumps(error.body(), separators=(",", ":")).encode(), error.headers
        entry["status"] = status
        if fault is not None and fault.kind == "drop":
            entry["status"] = "dropped"
            self.store.commit()  # the write happened; only its answer is lost
            await _drop_connection(send)
            return
        response_headers = {"Content-Type": "application/json", "Request-Id": request_id, **extra}
        if idempotency_key:
            response_headers["Idempotency-Key"] = idempotency_key
        await self._durably(send)(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(k.lower().encode(), v.encode()) for k, v in response_headers.items()],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def _answer(
        self,
        scope: Scope,
        receive: Receive,
        headers: Headers,
        request_id: str,
        idempotency_key: str | None,
        fault: Fault | None,
        entry: dict[str, Any],
    ) -> Answer:
        if fault is not None and fault.kind in ("error", "rate_limit"):
            return fault_answer(fault)
        api_key = api_key_of(headers)
        body = (await _read_body(receive)).decode()
        query = scope["query_string"].decode()
        params = decode_form(query if scope["method"] in ("GET", "DELETE") else body)
        if not idempotency_key:
            return await self._run_route(scope, params, request_id, None, fault)
        slot = self.ledger.slot(api_key, idempotency_key)
        print_ = fingerprint(scope["method"], scope["path"], query, body)
        stored = self.ledger.begin(slot, idempotency_key, print_)
        if stored is not None:
            entry["replayed"] = True
            return stored.status, stored.body, {"Idempotent-Replayed": "true", "Original-Request": stored.request_id}
        try:
            status, answer, extra = await self._run_route(scope, params, request_id, idempotency_key, fault)
        except BaseException:
            self.ledger.abandon(slot)
            raise
        self.ledger.finish(slot, print_, status, answer, request_id)
        return status, answer, extra

    async def _run_route(
        self,
        scope: Scope,
        params: dict[str, Any],
        request_id: str,
        idempotency_key: str | None,
        fault: Fault | None,
    ) -> Answer:
        if fault is not None and fault.kind == "delay":
            await asyncio.sleep(fault.delay_ms / 1000)
        scope = {**scope, "state": {**scope.get("state", {}), "params": params}}
        captured: dict[str, Any] = {"status": 500, "body": []}

        async def receive() -> Message:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
            elif message["type"] == "http.response.body":
                captured["body"].append(message.get("body", b""))

        token = current_request.set({"id": request_id, "idempotency_key": idempotency_key})
        try:
            await self.app(scope, receive, capture)
        except Exception:
            log.exception("route failed: %s %s", scope["method"], scope["path"])
            error = ApiError(500, "An unknown error occurred.", type="api_error")
            return error.status, json.dumps(error.body(), separators=(",", ":")).encode(), {}
        finally:
            current_request.reset(token)
        return captured["status"], b"".join(captured["body"]), {}
