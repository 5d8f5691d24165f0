"""POST /v1/stripe/webhook: Stripe's payment events, verified, landed once in the inbox.

Not part of the service API (no API key, not in /openapi.json): Stripe signs each delivery with the
endpoint secret and stripe.WebhookSignature.verify_header checks the signature and that its
timestamp is within TOLERANCE_SECONDS, so a captured request cannot be replayed later. The warehouse
is never opened here; the pipeline loads the inbox (stripe_payment_events).

The body is read only up to MAX_BODY_BYTES: a larger declared Content-Length is refused before
reading, and a body that keeps coming is refused as soon as it passes the limit; the connection is
then closed, so the rest is never read. A verified body that is not one event (not a JSON object
with an id) is a 400, never a 500.
"""

import json

import anyio.to_thread
import stripe
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from billing_pipeline.exchange import stripe_inbox
from quotas_api.errors import error_response
from quotas_api.services import services

TOLERANCE_SECONDS = 300
MAX_BODY_BYTES = 1 << 20


async def _body_within(request: Request, limit: int) -> bytes | None:
    """The body, or None as soon as it is known to exceed `limit` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def stripe_webhook(request: Request) -> Response:
    settings = services(request.scope).settings
    if not settings.stripe_webhook_secret:
        return error_response(503, "webhook_not_configured",
                              "STRIPE_WEBHOOK_SECRET is not set: this service cannot verify Stripe events")
    payload = await _body_within(request, MAX_BODY_BYTES)
    if payload is None:
        # Closing the connection is what keeps the server from reading (and the client from sending) the rest.
        return error_response(413, "body_too_large", f"a Stripe event is at most {MAX_BODY_BYTES} bytes",
                              headers={"Connection": "close"})
    try:
        stripe.WebhookSignature.verify_header(payload.decode(), request.headers.get("stripe-signature"),
                                              settings.stripe_webhook_secret, TOLERANCE_SECONDS)
        event = json.loads(payload)
    except stripe.SignatureVerificationError as error:
        return error_response(400, "bad_signature", f"signature not verified: {error.user_message or error}")
    except ValueError:  # not UTF-8, or not JSON
        return error_response(400, "bad_payload", "the body is not a Stripe event")
    if not isinstance(event, dict) or not isinstance(event.get("id"), str):
        return error_response(400, "bad_payload", "a Stripe event is a JSON object with a string id")
    try:
        stored = await anyio.to_thread.run_sync(stripe_inbox.receive, settings.stripe_inbox, event["id"], payload)
    except ValueError as error:
        return error_response(400, "bad_payload", str(error))
    return JSONResponse({"received": True, "event": event["id"], "duplicate": not stored})


routes = [Route("/v1/stripe/webhook", stripe_webhook, methods=["POST"])]
