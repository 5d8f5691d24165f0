"""/_test/...: controls for tests and demos, outside Stripe's API (JSON in and out, no API key).

POST /_test/reset                      forget every object, event, key, fault and log (a new account)
GET  /_test/clock                      {"now": unix seconds as the server sees them}
POST /_test/clock/advance              {"seconds": n}: move time on (expires idempotency keys,
                                       finalizes auto_advance drafts older than an hour)
POST /_test/faults                     {"kind", "method", "path", "count", "status", "retry_after",
                                       "delay_ms"}: queue a fault (see faults.py); GET lists, DELETE clears
POST /_test/payments/decline_next      {"count": n}: the next n card charges are declined
POST /_test/autopay                    {"decline_one_in": n}: customers pay each invoice when it is
                                       finalized, one in n declined (autopay.py); DELETE: they stop
POST /_test/events/{id}/resend         {"endpoint": "we_..."} or {}: deliver the event again
GET  /_test/requests                   every /v1 request seen: method, path, key, fault, status, replayed
GET  /_test/webhook_deliveries         every delivery attempt: event, endpoint, attempt, status or error
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from stripe_local import billing
from stripe_local.autopay import DEFAULT_DECLINE_ONE_IN
from stripe_local.events import subscribed
from stripe_local.faults import Fault
from stripe_local.routes.common import fetch
from stripe_local.wire import ApiError


async def _json(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        body = json.loads(raw) if raw else {}
    except ValueError:
        raise ApiError(400, "expected a JSON body") from None
    if not isinstance(body, dict):
        raise ApiError(400, "expected a JSON object")
    return body


def _count(body: dict[str, Any], name: str, default: int) -> int:
    value = body.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ApiError(400, f"{name} must be an integer", param=name)
    return value


async def reset(request: Request) -> JSONResponse:
    state = request.app.state
    state.store.reset()
    state.faults.clear()
    state.autopay.reset()
    state.request_log.clear()
    state.dispatcher.log.clear()
    return JSONResponse({"reset": True})


async def clock(request: Request) -> JSONResponse:
    return JSONResponse({"now": request.app.state.store.now()})


async def advance_clock(request: Request) -> JSONResponse:
    seconds = _count(await _json(request), "seconds", 0)
    if seconds < 0:
        raise ApiError(400, "the clock only moves forward", param="seconds")
    store = request.app.state.store
    with store.lock:
        store.advance_clock(seconds)
        billing.auto_finalize_due(store)
    return JSONResponse({"now": store.now()})


async def add_fault(request: Request) -> JSONResponse:
    try:
        fault = Fault(**await _json(request))
    except TypeError as exc:
        raise ApiError(400, f"bad fault: {exc}") from None
    request.app.state.faults.add(fault)
    return JSONResponse({"queued": request.app.state.faults.pending()})


async def list_faults(request: Request) -> JSONResponse:
    return JSONResponse({"queued": request.app.state.faults.pending()})


async def clear_faults(request: Request) -> JSONResponse:
    request.app.state.faults.clear()
    return JSONResponse({"queued": []})


async def decline_next_payments(request: Request) -> JSONResponse:
    count = _count(await _json(request), "count", 1)
    if count < 1:
        raise ApiError(400, "count must be >= 1", param="count")
    request.app.state.faults.decline_next(count)
    return JSONResponse({"declining": count})


async def start_autopay(request: Request) -> JSONResponse:
    one_in = _count(await _json(request), "decline_one_in", DEFAULT_DECLINE_ONE_IN)
    request.app.state.autopay.set(one_in)
    return JSONResponse({"autopay": True, "decline_one_in": one_in})


async def stop_autopay(request: Request) -> JSONResponse:
    request.app.state.autopay.set(None)
    return JSONResponse({"autopay": False})


async def resend_event(request: Request) -> JSONResponse:
    endpoint_id = (await _json(request)).get("endpoint")
    store = request.app.state.store
    with store.lock:
        event = fetch(store, "events", request.path_params["id"], "event")
        if endpoint_id is not None:
            targets = [fetch(store, "webhook_endpoints", endpoint_id, "webhook endpoint")["id"]]
        else:
            targets = [e["id"] for e in store.rows("webhook_endpoints") if subscribed(e, event["type"])]
        store.outbox.extend((event["id"], target) for target in targets)
    return JSONResponse({"event": event["id"], "endpoints": targets})


async def requests_seen(request: Request) -> JSONResponse:
    return JSONResponse({"data": list(request.app.state.request_log)})


async def webhook_deliveries(request: Request) -> JSONResponse:
    return JSONResponse({"data": list(request.app.state.dispatcher.log)})


routes = [
    Route("/_test/reset", reset, methods=["POST"]),
    Route("/_test/clock", clock, methods=["GET"]),
    Route("/_test/clock/advance", advance_clock, methods=["POST"]),
    Route("/_test/faults", add_fault, methods=["POST"]),
    Route("/_test/faults", list_faults, methods=["GET"]),
    Route("/_test/faults", clear_faults, methods=["DELETE"]),
    Route("/_test/payments/decline_next", decline_next_payments, methods=["POST"]),
    Route("/_test/autopay", start_autopay, methods=["POST"]),
    Route("/_test/autopay", stop_autopay, methods=["DELETE"]),
    Route("/_test/events/{id}/resend", resend_event, methods=["POST"]),
    Route("/_test/requests", requests_seen, methods=["GET"]),
    Route("/_test/webhook_deliveries", webhook_deliveries, methods=["GET"]),
]
