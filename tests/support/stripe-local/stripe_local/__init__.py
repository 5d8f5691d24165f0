"""A local, stateful, Stripe-compatible test server (customers, invoice items, invoices, events,
webhooks) with Stripe's idempotency rules and test controls for faults and time.

    with serve() as url:
        client = stripe.StripeClient("sk_test_local", base_addresses={"api": url})
"""

from stripe_local.app import create_app
from stripe_local.controls_client import LocalStripeControls
from stripe_local.server import serve

__all__ = ["LocalStripeControls", "create_app", "serve"]
