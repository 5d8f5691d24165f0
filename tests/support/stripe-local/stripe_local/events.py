"""Events: every state change becomes an `evt_` object, queued for the webhook endpoints."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from stripe import api_version as SDK_API_VERSION

from stripe_local.store import Store, new_id

# Set by the edge for the request being served, so events can say which request caused them.
current_request: ContextVar[dict[str, str | None]] = ContextVar(
    "current_request", default={"id": None, "idempotency_key": None}
)


def subscribed(endpoint: dict[str, Any], event_type: str) -> bool:
    wanted = endpoint["enabled_events"]
    return "*" in wanted or event_type in wanted


def emit(
    store: Store,
    event_type: str,
    obj: dict[str, Any],
    previous_attributes: dict[str, Any] | None = None,
) -> dict[str, Any]:
    data: dict[str, Any] = {"object": obj}
    if previous_attributes is not None:
        data["previous_attributes"] = previous_attributes
    endpoints = [e for e in store.rows("webhook_endpoints") if subscribed(e, event_type)]
    record = store.insert(
        "events",
        {
            "id": new_id("evt_"),
            "object": "event",
            "api_version": SDK_API_VERSION,
            "created": store.now(),
            "data": data,
            "livemode": False,
            "pending_webhooks": len(endpoints),
            "request": dict(current_request.get()),
            "type": event_type,
        },
    )
    store.outbox.append((record["id"], None))
    return record
