"""/v1/events (read-only) and /v1/webhook_endpoints (where events are delivered)."""

from __future__ import annotations

import secrets

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from stripe_local import render
from stripe_local.events import SDK_API_VERSION
from stripe_local.routes.common import (
    LIST_PARAMS,
    created_filter,
    fetch,
    paginate,
    params_of,
    reply,
    store_of,
)
from stripe_local.store import new_id
from stripe_local.wire import ApiError, as_list, merge_metadata, optional_str, require, to_str


async def list_events(request: Request) -> JSONResponse:
    params = params_of(request, LIST_PARAMS | {"type", "types"})
    in_window = created_filter(params)
    types: set[str] | None = None
    if "type" in params:
        types = {to_str(params["type"], "type")}
    if "types" in params:
        types = {to_str(t, "types") for t in as_list(params["types"], "types")}
    store = store_of(request)
    with store.lock:
        rows = [e for e in store.rows("events") if in_window(e) and (types is None or e["type"] in types)]
        return paginate(request, rows, render.event, "event")


async def retrieve_event(request: Request) -> JSONResponse:
    params_of(request, set())
    return reply(request, render.event(fetch(store_of(request), "events", request.path_params["id"], "event")))


async def create_webhook_endpoint(request: Request) -> JSONResponse:
    params = params_of(request, {"url", "enabled_events", "description", "metadata", "api_version"})
    url = to_str(require(params, "url"), "url")
    if not url.startswith(("http://", "https://")):
        raise ApiError(400, "Invalid URL: the URL must start with http:// or https://", code="url_invalid",
                       param="url")
    enabled = [to_str(e, "enabled_events") for e in as_list(require(params, "enabled_events"), "enabled_events")]
    store = store_of(request)
    with store.lock:
        rec = store.insert(
            "webhook_endpoints",
            {
                "id": new_id("we_"),
                "created": store.now(),
                "url": url,
                "enabled_events": enabled,
                "secret": "whsec_" + secrets.token_urlsafe(32),
                "description": optional_str(params, "description") if "description" in params else None,
                "metadata": merge_metadata({}, params.get("metadata", {})),
                "api_version": to_str(params["api_version"], "api_version")
                if "api_version" in params
                else SDK_API_VERSION,
            },
        )
        return reply(request, render.webhook_endpoint(rec, with_secret=True))


async def retrieve_webhook_endpoint(request: Request) -> JSONResponse:
    params_of(request, set())
    rec = fetch(store_of(request), "webhook_endpoints", request.path_params["id"], "webhook endpoint")
    return reply(request, render.webhook_endpoint(rec))


async def list_webhook_endpoints(request: Request) -> JSONResponse:
    params_of(request, {"limit", "starting_after", "ending_before"})
    store = store_of(request)
    with store.lock:
        return paginate(request, store.rows("webhook_endpoints"), render.webhook_endpoint, "webhook endpoint")


async def delete_webhook_endpoint(request: Request) -> JSONResponse:
    params_of(request, set())
    store = store_of(request)
    with store.lock:
        rec = fetch(store, "webhook_endpoints", request.path_params["id"], "webhook endpoint")
        store.delete("webhook_endpoints", rec["id"])
    return JSONResponse({"id": rec["id"], "object": "webhook_endpoint", "deleted": True})


routes = [
    Route("/v1/events", list_events, methods=["GET"]),
    Route("/v1/events/{id}", retrieve_event, methods=["GET"]),
    Route("/v1/webhook_endpoints", create_webhook_endpoint, methods=["POST"]),
    Route("/v1/webhook_endpoints", list_webhook_endpoints, methods=["GET"]),
    Route("/v1/webhook_endpoints/{id}", retrieve_webhook_endpoint, methods=["GET"]),
    Route("/v1/webhook_endpoints/{id}", delete_webhook_endpoint, methods=["DELETE"]),
]
