"""POST /v1/stripe/webhook: Stripe's payment events, verified, landed once in the inbox.

Not part of the service API (no API key, not in /openapi.json): Stripe signs each delivery with the
endpoint secret and stripe.Webhook.construct_event checks the signature and that its timestamp is
within TOLERANCE_SECONDS, so a captured request cannot be replayed later. The warehouse is never
opened here; the pipeline loads the inbox (stripe_payment_events).
"""

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


async def stripe_webhook(request: Request) -> Response:
    settings = services(request.scope).settings
    if not settings.stripe_webhook_secret:
        return error_response(503, "webhook_not_configured",
                              "STRIPE_WEBHOOK_SECRET is not set: this service cannot verify Stripe events")
    payload = await request.body()
    if len(payload) > MAX_BODY_BYTES:
        return error_response(413, "body_too_large", f"a Stripe event is at most {MAX_BODY_BYTES} bytes")
    try:
        event = stripe.Webhook.construct_event(payload.decode(), request.headers.get("stripe-signature"),
                                               settings.stripe_webhook_secret, tolerance=TOLERANCE_SECONDS)
    except stripe.SignatureVerificationError as error:
        return error_response(400, "bad_signature", f"signature not verified: {error.user_message or error}")
    except ValueError:
        return error_response(400, "bad_payload", "the body is not a Stripe event")
    try:
        stored = await anyio.to_thread.run_sync(stripe_inbox.receive, settings.stripe_inbox, event.id, payload)
    except ValueError as error:
        return error_response(400, "bad_payload", str(error))
    return JSONResponse({"received": True, "event": event.id, "duplicate": not stored})


routes = [Route("/v1/stripe/webhook", stripe_webhook, methods=["POST"])]
