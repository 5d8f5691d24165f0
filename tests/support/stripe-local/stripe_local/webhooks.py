"""Webhook delivery: signed POSTs of events to registered endpoints, off the request path.

Signatures follow Stripe's scheme, `Stripe-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of
"<t>.<payload>" keyed by the endpoint secret>`, so `stripe.Webhook.construct_event` verifies them.
The timestamp is the real wall-clock time even when the test clock has been advanced, because
receivers check it against their own clock.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import Sequence
from typing import Any

import httpx

from stripe_local import render
from stripe_local.events import subscribed
from stripe_local.store import Store

DEFAULT_RETRY_DELAYS = (0.5, 2.0, 5.0)


def signature_header(payload: str, secret: str, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


class Dispatcher:
    """Sends each event to each subscribed endpoint, retrying failures after `retry_delays`."""

    def __init__(self, store: Store, retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS) -> None:
        self.store = store
        self.retry_delays = tuple(retry_delays)
        self.log: list[dict[str, Any]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._client: httpx.AsyncClient | None = None

    async def start(self) -> None:
        self._client = httpx.AsyncClient(timeout=5.0)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()

    def send(self, event_id: str, endpoint_id: str | None = None) -> None:
        """Queue delivery to one endpoint (a resend) or to every endpoint subscribed to the event."""
        event = self.store.get("events", event_id)
        if event is None:
            return
        resend = endpoint_id is not None
        for endpoint in self.store.rows("webhook_endpoints"):
            wanted = endpoint["id"] == endpoint_id if resend else subscribed(endpoint, event["type"])
            if wanted:
                task = asyncio.get_running_loop().create_task(self._deliver(event_id, endpoint["id"], resend))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _deliver(self, event_id: str, endpoint_id: str, resend: bool) -> None:
        assert self._client is not None, "dispatcher not started"
        for attempt, delay in enumerate((0.0, *self.retry_delays), start=1):
            await asyncio.sleep(delay)
            endpoint = self.store.get("webhook_endpoints", endpoint_id)
            event = self.store.get("events", event_id)
            if endpoint is None or event is None:
                return
            payload = json.dumps(render.event(event), indent=2)
            headers = {
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
                "Stripe-Signature": signature_header(payload, endpoint["secret"], int(time.time())),
            }
            entry: dict[str, Any] = {"event": event_id, "endpoint": endpoint_id, "attempt": attempt, "resend": resend}
            try:
                response = await self._client.post(endpoint["url"], content=payload, headers=headers)
                entry["status"] = response.status_code
            except httpx.HTTPError as exc:
                entry["error"] = f"{type(exc).__name__}: {exc}"
            self.log.append(entry)
            if 200 <= entry.get("status", 0) < 300:
                if not resend:
                    with self.store.lock:
                        event["pending_webhooks"] = max(event["pending_webhooks"] - 1, 0)
                        self.store.updated("events", event)
                        self.store.commit()
                return
