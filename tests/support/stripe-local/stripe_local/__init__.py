"""A local, stateful, Stripe-compatible test server (account, customers and balances, invoice items,
invoices, events, webhooks) with Stripe's idempotency rules, durable writes, and test controls for
faults, time and demo customers who pay. Not part of the billing-pipeline product.

    with serve() as url:
        client = stripe.StripeClient("sk_test_local", base_addresses={"api": url})

    python -m stripe_local run --state-dir data/stripe --autopay -- <command>
"""

from stripe_local.app import create_app
from stripe_local.controls_client import LocalStripeControls
from stripe_local.server import serve

__all__ = ["LocalStripeControls", "create_app", "serve"]
